// Offline stand-in for what Grafana and the ClickHouse plugin do to a query before it reaches the
// server: dashboard variable interpolation (frontend) and macro expansion (pkg/macros/macros.go,
// plugin v4), so every provisioned query can be run against the real engine in tests.

export interface QueryContext {
  from: Date;
  to: Date;
  intervalMs: number;
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const day = (d: Date): string => d.toISOString().slice(0, 10);
const dateTime = (d: Date): string => `toDateTime(${seconds(d)})`;
const dateTime64 = (d: Date): string => `fromUnixTimestamp64Milli(${d.getTime()})`;

type Macro = (args: string[], ctx: QueryContext) => string;

function arity(name: string, n: number, fn: (args: string[], ctx: QueryContext) => string): Macro {
  return (args, ctx) => {
    if (args.length !== n) throw new Error(`$__${name}: expected ${n} argument(s), got ${args.length}`);
    return fn(args, ctx);
  };
}

const intervalSeconds = (ctx: QueryContext): number => Math.max(Math.floor(ctx.intervalMs / 1000), 1);

const MACROS: Record<string, Macro> = {
  fromTime: (_a, c) => dateTime(c.from),
  toTime: (_a, c) => dateTime(c.to),
  fromTime_ms: (_a, c) => dateTime64(c.from),
  toTime_ms: (_a, c) => dateTime64(c.to),
  timeFilter: arity('timeFilter', 1, ([col], c) => `${col} >= ${dateTime(c.from)} AND ${col} <= ${dateTime(c.to)}`),
  timeFilter_ms: arity('timeFilter_ms', 1, ([col], c) => `${col} >= ${dateTime64(c.from)} AND ${col} <= ${dateTime64(c.to)}`),
  dateFilter: arity('dateFilter', 1, ([col], c) => `${col} >= toDate('${day(c.from)}') AND ${col} <= toDate('${day(c.to)}')`),
  dateTimeFilter: arity('dateTimeFilter', 2, ([d, t], c) => `(${d} >= toDate('${day(c.from)}') AND ${d} <= toDate('${day(c.to)}')) AND (${t} >= ${dateTime(c.from)} AND ${t} <= ${dateTime(c.to)})`),
  timeInterval: arity('timeInterval', 1, ([col], c) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${intervalSeconds(c)} second)`),
  timeInterval_ms: arity('timeInterval_ms', 1, ([col], c) => `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.max(c.intervalMs, 1)} millisecond)`),
  interval_s: (_a, c) => String(intervalSeconds(c)),
};
MACROS.dt = MACROS.dateTimeFilter!;

/** Grafana's own interval variables, replaced in the frontend before the plugin sees the query. */
function grafanaIntervals(sql: string, ctx: QueryContext): string {
  return sql.replace(/\$__interval_ms\b/g, String(ctx.intervalMs)).replace(/\$__interval\b(?!_)/g, `${Math.max(1, Math.round(ctx.intervalMs / 1000))}s`);
}

/** Splits "a, f(b, c), d" at top-level commas. */
function splitArgs(s: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

export function expandMacros(sql: string, ctx: QueryContext): string {
  let out = grafanaIntervals(sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, ''), ctx);
  // Longest names first, so $__timeFilter_ms is not read as $__timeFilter.
  for (const name of Object.keys(MACROS).sort((a, b) => b.length - a.length)) {
    const token = `$__${name}`;
    let at: number;
    while ((at = out.indexOf(token)) !== -1) {
      const after = at + token.length;
      if (/\w/.test(out[after] ?? '')) throw new Error(`unknown macro at ${out.slice(at, after + 10)}`);
      let end = after;
      let args: string[] = [];
      if (out[after] === '(') {
        let depth = 0;
        for (end = after; end < out.length; end++) {
          if (out[end] === '(') depth++;
          if (out[end] === ')' && --depth === 0) break;
        }
        if (depth !== 0) throw new Error(`unbalanced parentheses after ${token}`);
        args = splitArgs(out.slice(after + 1, end));
        end++;
      }
      out = out.slice(0, at) + MACROS[name]!(args, ctx) + out.slice(end);
    }
  }
  if (/\$__\w/.test(out)) throw new Error(`unexpanded macro in: ${out}`);
  return out;
}

/** Dashboard variable interpolation: ${name:singlequote} -> 'a','b'; ${name} and $name -> values joined by commas. */
export function interpolateVariables(sql: string, variables: Record<string, string[]>): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(?!__)(\w+)/g, (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    const values = variables[name];
    if (values === undefined) throw new Error(`query uses undefined variable ${whole}`);
    if (format === 'singlequote') return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    if (format !== undefined && format !== 'raw') throw new Error(`variable format ${format} not supported`);
    return values.join(',');
  });
}
