// Reading configuration, the plumbing under every component's settings: the Collector's
// `${env:NAME}` substitution, durations and endpoints in its syntax, and a Section (one YAML map
// with its path and the environment) that components parse their own settings from, so that
// every error names the YAML path or the environment variable the bad value came from.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';

export { ConfigError };

type Node = Record<string, unknown>;

const ENV_REF = /\$\$|\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The Collector's environment references in string values: `${env:NAME}`, `${env:NAME:-default}`
 * (the default when NAME is unset or empty), `$$` for a literal `$`. An unset variable without a
 * default expands to the empty string, as in the Collector. A value that is nothing but one
 * reference takes the type its expansion has in YAML (`${env:PORT}` gives a number).
 */
export function expandEnv(v: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (Array.isArray(v)) return v.map((item, i) => expandEnv(item, env, `${path}[${i}]`));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, expandEnv(item, env, path ? `${path}.${k}` : k)]));
  if (typeof v !== 'string' || !v.includes('$')) return v;
  const expanded = v.replace(ENV_REF, (whole, ref: string | undefined) => {
    if (ref === undefined) return '$';
    const m = /^env:([^:]*)(?::-(.*))?$/s.exec(ref);
    if (!m) throw new ConfigError(`${path}: unsupported reference ${whole} (use \${env:NAME} or \${env:NAME:-default}; $$ is a literal $)`);
    const [, name = '', fallback] = m;
    if (!ENV_NAME.test(name)) throw new ConfigError(`${path}: ${whole} is not a valid environment variable name`);
    const value = env[name];
    return value === undefined || value === '' ? (fallback ?? '') : value;
  });
  const whole = /^\$\{env:[^}]*\}$/.test(v);
  return whole && expanded !== '' ? parseYaml(expanded) : expanded;
}

/** Collector duration syntax: "500ms", "1s", "2m", "720h"; a bare number is milliseconds. */
export function parseDurationMs(v: unknown, key: string): number {
  if (typeof v === 'number' && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim()) : null;
  if (!m) throw new ConfigError(`${key} must be a duration like 500ms, 1s, 2m or 720h, got ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** The address a local client reaches a listener on: a wildcard listen host means this machine. */
export function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

export function parseHostPort(endpoint: string, key: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(endpoint);
  if (!m) throw new ConfigError(`${key} must be host:port, got ${JSON.stringify(endpoint)}`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export function splitList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

/** A YAML file as a document (an empty file is an empty map). */
export function readYamlFile(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`);
  }
}

/**
 * One map of the configuration (`receivers.otlp`, `processors.batch`, ...) as a component reads
 * it. Each getter takes the key, the default, and optionally the environment variable that
 * overrides the key; a bad value is refused naming whichever of the two it came from.
 */
export class Section {
  private readonly node: Node;

  constructor(
    /** The map as written (after `${env:}` expansion), for settings with a shape of their own. */
    readonly raw: unknown,
    /** The YAML path of this map; '' for the document root. */
    readonly path: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.node = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Node) : {};
  }

  /** The map under `keys` (an empty one when absent). */
  child(...keys: string[]): Section {
    let cur: unknown = this.node;
    for (const key of keys) cur = typeof cur === 'object' && cur !== null ? (cur as Node)[key] : undefined;
    return new Section(cur, [this.path, ...keys].filter(Boolean).join('.'), this.env);
  }

  /** The maps of a list (`prices: [{...}, ...]`), each with its path (`prices[0]`); none when absent. */
  items(key: string): Section[] {
    const v = this.node[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(key, 'must be a list');
    return v.map((item, i) => new Section(item, `${this.where(key)}[${i}]`, this.env));
  }

  /** The value as written, for settings with a shape of their own. */
  get(key: string): unknown {
    return this.node[key];
  }

  keys(): string[] {
    return Object.keys(this.node);
  }

  /** Where `key`'s value comes from: the variable when it is set, else its YAML path. */
  where(key: string, envName?: string): string {
    if (envName !== undefined && this.env[envName] !== undefined) return envName;
    return this.path ? `${this.path}.${key}` : key;
  }

  private value(key: string, envName: string | undefined): unknown {
    if (envName !== undefined && this.env[envName] !== undefined) return this.env[envName];
    return this.node[key];
  }

  str(key: string, fallback: string, envName?: string): string {
    const v = this.value(key, envName);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${this.where(key, envName)} must be a string`);
    return String(v);
  }

  /** A non-negative integer, at least `min`. */
  int(key: string, fallback: number, envName?: string, min = 0): number {
    const v = this.value(key, envName);
    if (v === undefined || v === null) return fallback;
    const parsed = typeof v === 'number' ? v : Number(v);
    if (!Number.isInteger(parsed) || parsed < 0) throw new ConfigError(`${this.where(key, envName)} must be a non-negative integer, got ${JSON.stringify(v)}`);
    if (parsed < min) throw new ConfigError(`${this.where(key, envName)} must be at least ${min}`);
    return parsed;
  }

  bool(key: string, fallback: boolean, envName?: string): boolean {
    const v = this.value(key, envName);
    if (v === undefined || v === null) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ConfigError(`${this.where(key, envName)} must be true or false, got ${JSON.stringify(v)}`);
  }

  /** A duration in milliseconds; `positive` refuses zero. */
  duration(key: string, fallbackMs: number, envName?: string, opts: { positive?: boolean } = {}): number {
    const v = this.value(key, envName);
    const ms = v === undefined ? fallbackMs : parseDurationMs(v, this.where(key, envName));
    if (opts.positive && !(ms > 0)) throw new ConfigError(`${this.where(key, envName)} must be more than 0`);
    return ms;
  }

  /** A list of strings: a YAML list, or a comma-separated string (as environment variables give it). */
  list(key: string, envName?: string): string[] {
    const v = this.value(key, envName);
    if (v === undefined || v === null || v === '') return [];
    if (typeof v === 'string') return splitList(v);
    if (!Array.isArray(v)) throw new ConfigError(`${this.where(key, envName)} must be a list`);
    return v.map(String);
  }

  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T, envName?: string): T {
    const v = this.str(key, fallback, envName);
    if (!(choices as readonly string[]).includes(v)) throw new ConfigError(`${this.where(key, envName)} must be ${choices.join(' or ')}, got ${v}`);
    return v as T;
  }

  /** `host:port`. */
  endpoint(key: string, fallback: string, envName?: string): { host: string; port: number } {
    return parseHostPort(this.str(key, fallback, envName), this.where(key, envName));
  }

  fail(key: string, message: string, envName?: string): never {
    throw new ConfigError(`${this.where(key, envName)} ${message}`);
  }
}
