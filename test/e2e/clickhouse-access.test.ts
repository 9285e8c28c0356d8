// Access control on a real ClickHouse server (the local server from libchdb, users from users.xml):
// per-tenant read users see only their tenant's rows in every table; the ingest user can only
// insert; the read users cannot write nor reach files or the network through table functions; a
// wrong password is refused. The compose stack's deploy/clickhouse/users.xml is loaded as the stack
// mounts it (users.d) and its users behave the same. The server is restarted after a SIGKILL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, ClickHouseError, createClient } from '@clickhouse/client';
import { insertRawWith, localClickHouse, localUsers } from '../../services/shared/clickhouse/client.js';
import { migrate } from '../../services/shared/clickhouse/migrate.js';
import { ClickHouseServer } from '../../services/shared/clickhouse/server.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { ADMIN_USER, INGEST_USER, READER_USER, TENANT_TABLES, tenantUser } from '../../services/shared/clickhouse/users.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { Normalizer } from '../../services/processors/genai/rows.js';
import { generate, generateLogs } from '../harness/generated-traces.js';
import { waitFor } from '../harness/pipeline.js';
import { adminOnlyUsersXml } from '../harness/stack-users.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const log = createLogger('access-test', 40);
const DEFAULTS = resolveConfig({}, {});

/** The consumer's sink, writing as the given client's user. */
function sinkAs(client: ClickHouseClient): TelemetrySink {
  return new TelemetrySink({ insertRaw: (i) => insertRawWith(client, i) }, 'telemetry', new Registry(), log);
}

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ClickHouseError && err.type === code, `expected ${code}`);
}

describe('ClickHouse users and tenancy on a real server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-access-'));
  const cfg = resolveConfig({ exporters: { clickhouse: { tenants: ['tenant-0', 'tenant-1'] } } }, { TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
  let server: ClickHouseServer;
  let passwords: Record<string, string>;
  const clients: ClickHouseClient[] = [];
  const as = (username: string, password = passwords[username]!): ClickHouseClient => {
    const c = createClient({ url: server.url, username, password });
    clients.push(c);
    return c;
  };
  const rows = async (c: ClickHouseClient, sql: string): Promise<Array<Record<string, string>>> => (await c.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } })).json();

  before(async () => {
    const local = await localClickHouse(cfg, log);
    server = local.server!;
    passwords = localUsers(cfg).passwords;
    const admin = as(local.endpoint.username, local.endpoint.password);
    await migrate(admin, cfg, log);
    // Three tenants' traces and logs, inserted as the ingest user (as the consumer does).
    const sink = sinkAs(as(INGEST_USER));
    const normalizer = new Normalizer({ ...DEFAULTS.processors.genai, tenancy: DEFAULTS.processors.attributes });
    for (const t of generate(30, 3)) await sink.insert(normalizer.normalize(t));
    for (const l of generateLogs(30, 3)) await sink.insert(normalizer.normalizeLogs(l));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("gives each tenant's read user its own rows only, in every table and view", async () => {
    const reader = as(READER_USER);
    for (const tenant of ['tenant-0', 'tenant-1']) {
      const user = as(tenantUser(tenant));
      // Plain views read those tables as the user who queries them: the same rows.
      for (const table of [...TENANT_TABLES, 'events', 'otel_traces']) {
        const [mine] = await rows(user, `SELECT count() AS n, countIf(tenant_id != '${tenant}') AS others FROM telemetry.${table}`);
        const [truth] = await rows(reader, `SELECT countIf(tenant_id = '${tenant}') AS n FROM telemetry.${table}`);
        assert.equal(mine!.others, '0', `${tenant} reads no other tenant's rows in ${table}`);
        assert.equal(mine!.n, truth!.n, `${tenant} reads all its rows in ${table}`);
        assert.ok(Number(truth!.n) > 0, `${table} has rows of ${tenant}`);
      }
    }
    const [all] = await rows(reader, 'SELECT uniqExact(tenant_id) AS tenants FROM telemetry.spans_raw');
    assert.equal(all!.tenants, '3', 'the reader sees every tenant, including one without its own user');
  });

  it('lets the ingest user insert only, and the read users read only', async () => {
    const ingest = as(INGEST_USER);
    await refused(rows(ingest, 'SELECT count() FROM telemetry.spans_raw'), 'ACCESS_DENIED');
    await refused(ingest.command({ query: 'DROP TABLE telemetry.spans_raw' }), 'ACCESS_DENIED');
    for (const user of [READER_USER, tenantUser('tenant-0')]) {
      const c = as(user);
      await refused(c.command({ query: "INSERT INTO telemetry.ingest_watermark (tenant_id) VALUES ('x')" }), 'ACCESS_DENIED');
      await refused(c.command({ query: 'DROP TABLE telemetry.spans_raw' }), 'ACCESS_DENIED');
      for (const fn of ["file('/etc/hostname', 'LineAsString')", "url('http://127.0.0.1:9/', 'LineAsString')", "s3('http://127.0.0.1:9/tracehouse-bucket/key', 'LineAsString')", "remote('127.0.0.1:9', system.one)"]) {
        await refused(rows(c, `SELECT * FROM ${fn}`), 'ACCESS_DENIED');
      }
    }
    // The server's own launch user: no rights at all beyond its listeners.
    const launch = createClient({ url: server.url, username: 'default', password: '' });
    clients.push(launch);
    await refused(rows(launch, 'SELECT count() FROM telemetry.spans_raw'), 'ACCESS_DENIED');
    await refused(rows(launch, "SELECT * FROM file('/etc/hostname', 'LineAsString')"), 'ACCESS_DENIED');
  });

  it('refuses a wrong password', async () => {
    await refused(rows(as(READER_USER, 'wrong'), 'SELECT 1'), 'AUTHENTICATION_FAILED');
  });

  it("loads the compose stack's deploy/clickhouse/users.xml as the stack mounts it, with the same rights", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracehouse-deploy-users-'));
    const stack = await ClickHouseServer.start({
      dataDir: dir,
      httpPort: 0,
      tcpPort: 0,
      usersXml: adminOnlyUsersXml('admin-secret'),
      usersFiles: [join(ROOT, 'deploy/clickhouse/users.xml')],
      env: { CLICKHOUSE_INGEST_PASSWORD: 'ingest-secret', CLICKHOUSE_READER_PASSWORD: 'reader-secret' },
      log,
    });
    const admin = createClient({ url: stack.url, username: ADMIN_USER, password: 'admin-secret' });
    const ingest = createClient({ url: stack.url, username: INGEST_USER, password: 'ingest-secret' });
    const reader = createClient({ url: stack.url, username: READER_USER, password: 'reader-secret' });
    const wrong = createClient({ url: stack.url, username: READER_USER, password: 'reader' });
    try {
      await migrate(admin, cfg, log);
      // The consumer's path as the stack runs it: the insert-only user feeds spans_raw, events_raw and every rollup.
      await sinkAs(ingest).insert(new Normalizer({ ...DEFAULTS.processors.genai, tenancy: DEFAULTS.processors.attributes }).normalize(generate(2, 9)[0]!));
      await refused(rows(ingest, 'SELECT count() FROM telemetry.spans_raw'), 'ACCESS_DENIED');
      await refused(ingest.command({ query: 'DROP TABLE telemetry.spans_raw' }), 'ACCESS_DENIED');
      assert.deepEqual(await rows(reader, 'SELECT count() AS n FROM telemetry.spans_raw'), [{ n: '10' }]);
      assert.deepEqual(await rows(reader, 'SELECT sum(calls) AS n FROM telemetry.spans_minute'), [{ n: '10' }]);
      await refused(reader.command({ query: 'CREATE TABLE telemetry.x (a Int8) ENGINE = Memory' }), 'ACCESS_DENIED');
      await refused(rows(reader, "SELECT * FROM file('/etc/hostname', 'LineAsString')"), 'ACCESS_DENIED');
      await refused(rows(wrong, 'SELECT 1'), 'AUTHENTICATION_FAILED');
    } finally {
      await Promise.all([admin.close(), ingest.close(), reader.close(), wrong.close()]);
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('restarts the server after it is killed, on the same port, with the data', async () => {
    const pid = server.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => server.pid !== pid && (await server.ping()), 30_000, 'the server restarted');
    const [r] = await rows(as(READER_USER), 'SELECT count() AS n FROM telemetry.spans_raw');
    assert.equal(r!.n, '300');
  });
});
