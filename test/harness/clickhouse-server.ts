// Loaded into every test file's process (`node --test --import`): starts a real ClickHouse server
// for that file (services/shared/clickhouse/server.ts, on OS-chosen 127.0.0.1 ports, in a temporary
// directory) and points CLICKHOUSE_URL / CLICKHOUSE_USER / CLICKHOUSE_PASSWORD at it, so every test
// reaches ClickHouse over HTTP as production does. With CLICKHOUSE_URL already set, the suite uses
// that server instead. The test runner's own process (the one with --test) starts none: its env
// would otherwise hand one server to every file. The server is killed when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localClickHouse } from '../../services/shared/clickhouse/client.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';

if (!process.env.CLICKHOUSE_URL && !process.execArgv.includes('--test')) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-test-ch-'));
  const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
  const { endpoint, server } = await localClickHouse(cfg, createLogger('test-clickhouse', 40));
  server?.unref();
  process.env.CLICKHOUSE_URL = endpoint.url;
  process.env.CLICKHOUSE_USER = endpoint.username;
  process.env.CLICKHOUSE_PASSWORD = endpoint.password;
  process.env.TRACEHOUSE_TEST_CLICKHOUSE_DIR = dataDir;
  process.once('exit', () => {
    server?.kill();
    // The SIGKILLed server may still be finishing a write (a merge after heavy load) for a moment.
    try {
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    } catch (err) {
      process.stderr.write(`test-clickhouse: could not remove ${dataDir}: ${(err as Error).message}\n`);
    }
  });
}
