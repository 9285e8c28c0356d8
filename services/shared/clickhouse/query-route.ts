// Read-only SQL over HTTP for the embedded engine: chdb allows one process per data directory, so
// `tracehouse query` asks the running instance. Only single read statements are accepted (chdb
// would run several statements, and per-call readonly settings would leak into the session).
import type { ClickHouseClient } from '@clickhouse/client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send, type Route } from '../admin-server.js';

const READ_STATEMENT = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;
const MAX_SQL_BYTES = 1024 * 1024;

/** Why a statement is refused, or '' when it is a single read. */
export function readOnlyViolation(sql: string): string {
  const body = sql.trim().replace(/;\s*$/, '');
  if (!READ_STATEMENT.test(body)) return 'only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS statements are allowed';
  if (body.includes(';')) return 'only one statement per query';
  if (/\bINTO\s+OUTFILE\b/i.test(body)) return 'INTO OUTFILE is not allowed';
  return '';
}

export function queryRoute(client: ClickHouseClient): Route {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return send(res, 405, 'POST the SQL as the body\n');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SQL_BYTES) return send(res, 413, 'query too large\n');
      chunks.push(chunk);
    }
    const sql = Buffer.concat(chunks).toString('utf8').trim().replace(/;\s*$/, '');
    const violation = readOnlyViolation(sql);
    if (violation) return send(res, 400, `${violation}\n`);
    try {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      send(res, 200, await rs.text(), 'application/x-ndjson');
    } catch (err) {
      send(res, 400, `${(err as Error).message}\n`);
    }
  };
}
