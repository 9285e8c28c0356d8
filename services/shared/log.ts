// JSON-lines logger: one object per line on stdout, level filtered by LOG_LEVEL.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

function threshold(): number {
  const name = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return name in LEVELS ? LEVELS[name as LogLevel] : LEVELS.info;
}

function errorFields(fields: Record<string, unknown>): Record<string, unknown> {
  const err = fields.err;
  if (!(err instanceof Error)) return fields;
  return { ...fields, err: err.message, err_name: err.name, ...('code' in err ? { err_code: (err as { code: unknown }).code } : {}) };
}

export function createLogger(component: string, min = threshold()): Logger {
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return;
    const line = { ts: new Date().toISOString(), level, component, msg, ...(fields ? errorFields(fields) : {}) };
    process.stdout.write(JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (name) => createLogger(`${component}.${name}`, min),
  };
}
