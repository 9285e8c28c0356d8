// The schema's cluster form (services/shared/clickhouse/cluster.ts) on real servers: two ClickHouse
// server processes are the two shards of a cluster in their remote_servers, each migrated with the
// statements ON CLUSTER would run on it (plain MergeTree: replication needs Keeper, which this
// machine has not; the replicated, ON CLUSTER form is parsed by the engine). The consumer's INSERTs
// go through the Distributed tables, every batch twice (from either node), and every Grafana panel
// and alert query must answer on the cluster exactly as on one server holding the same rows.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { DASHBOARDS, DATASOURCE } from '../../grafana/src/dashboards.js';
import { GRAFANA_DIR } from '../../grafana/src/generate.js';
import { clickhouseEnv } from '../harness/pipeline.js';
import { type ClickHouseHandle, localUsers, openClickHouse } from '../../services/shared/clickhouse/client.js';
import { LOCAL_SUFFIX } from '../../services/shared/clickhouse/cluster.js';
import { bootstrapStatements, migrate, renderMigrations, schemaLayout } from '../../services/shared/clickhouse/migrate.js';
import { ClickHouseServer } from '../../services/shared/clickhouse/server.js';
import { ADMIN_USER } from '../../services/shared/clickhouse/users.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { freePort } from '../../services/shared/ports.js';
import { type NormalizedRows, Normalizer } from '../../services/processors/genai/rows.js';
import { generate, generateLogs } from '../harness/generated-traces.js';
import { type QueryContext, expandMacros, interpolateVariables } from '../harness/grafana.js';

const CLUSTER = 'tracehouse';
const DB = 'telemetry';
const log = createLogger('test', 50);

interface Result {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
}

/** Columns that read the clock (now() against the time rows were inserted): equal within seconds, not exactly. */
const CLOCK_COLUMNS = new Set(['seconds_since_ingest', 'last_ingest', 'data_lag_s']);

function sameValue(column: string, a: unknown, b: unknown): boolean {
  if (CLOCK_COLUMNS.has(column)) {
    const [x, y] = [a, b].map((v) => (typeof v === 'string' && Number.isNaN(Number(v)) ? Date.parse(v) / 1000 : Number(v)));
    return Math.abs(x! - y!) <= 5;
  }
  if (a === b || JSON.stringify(a) === JSON.stringify(b)) return true;
  const [x, y] = [Number(a), Number(b)];
  return typeof a !== 'object' && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x));
}

/** Rows in an order that does not depend on which shard answered first. */
const sorted = (r: Result): Array<Record<string, unknown>> => {
  const key = (row: Record<string, unknown>): string => JSON.stringify(Object.entries(row).filter(([k]) => !CLOCK_COLUMNS.has(k)));
  return [...r.data].sort((a, b) => key(a).localeCompare(key(b)));
};

describe('the schema on a two-shard cluster, real servers', () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'tracehouse-shard-')));
  const shards: ClickHouseServer[] = [];
  const nodes: ClickHouseHandle[] = [];
  let single: ClickHouseHandle;
  let batches: Array<{ rows: NormalizedRows; token: string }> = [];

  const run = async (ch: ClickHouseHandle, query: string): Promise<Result> => (await ch.client.query({ query, format: 'JSON' })).json() as Promise<Result>;
  const count = async (ch: ClickHouseHandle, query: string): Promise<number> => Number((await run(ch, query)).data[0]!.n);

  before(async () => {
    const base = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dirs[0]!, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
    const { usersXml, passwords } = localUsers(base);
    const ports = await Promise.all([0, 1].map(async () => ({ http: await freePort(), tcp: await freePort() })));
    const replicas = ports.map((p) => `<shard><replica><host>127.0.0.1</host><port>${p.tcp}</port><user>${ADMIN_USER}</user><password>${passwords[ADMIN_USER]}</password></replica></shard>`);
    const configXml = `  <remote_servers><${CLUSTER}>${replicas.join('')}</${CLUSTER}></remote_servers>\n`;
    for (const [i, p] of ports.entries()) {
      shards.push(await ClickHouseServer.start({ dataDir: dirs[i]!, httpPort: p.http, tcpPort: p.tcp, usersXml, configXml, log }));
      const cfg = resolveConfig({}, { CLICKHOUSE_URL: shards[i]!.url, CLICKHOUSE_USER: ADMIN_USER, CLICKHOUSE_PASSWORD: passwords[ADMIN_USER]!, CLICKHOUSE_CLUSTER: CLUSTER }).exporters.clickhouse;
      nodes.push(await openClickHouse(cfg, log));
      await migrate(nodes[i]!.client, cfg, log, { name: CLUSTER, onCluster: false, replicated: false });
    }
    single = await openClickHouse(resolveConfig({}, clickhouseEnv()).exporters.clickhouse, log);
    await migrate(single.client, { database: DB, ttlDays: 30 }, log);

    const normalizer = new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
    const traces = generate(240, 42);
    for (let i = 0; i < traces.length; i += 40) {
      const b = traces.slice(i, i + 40).map((t) => normalizer.normalize(t));
      batches.push({ rows: { spans: b.flatMap((x) => x.spans), events: b.flatMap((x) => x.events), logs: [] }, token: `cluster-test:${i}` });
    }
    const logs = generateLogs(240, 43).map((l) => normalizer.normalizeLogs(l));
    batches.push({ rows: { spans: [], events: logs.flatMap((l) => l.events), logs: logs.flatMap((l) => l.logs) }, token: 'cluster-test:logs' });
    const sinks = [single, ...nodes].map((ch) => new TelemetrySink(ch, DB, new Registry(), log));
    for (const b of batches) {
      await sinks[0]!.insert(b.rows, b.token);
      // On the cluster, each batch twice, through either node: the second is a retry after a lost answer.
      await sinks[1]!.insert(b.rows, b.token);
      await sinks[2]!.insert(b.rows, b.token);
    }
  });

  after(async () => {
    await Promise.all([single, ...nodes].map((ch) => ch?.close()));
    await Promise.all(shards.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('stores every row once, spread over both shards, each trace on one shard', async () => {
    for (const table of ['spans_raw', 'events_raw', 'logs_raw']) {
      const perShard = await Promise.all(nodes.map((n) => count(n, `SELECT count() AS n FROM ${DB}.${table}${LOCAL_SUFFIX}`)));
      const total = await count(single, `SELECT count() AS n FROM ${DB}.${table}`);
      assert.ok(total > 0, table);
      assert.equal(perShard[0]! + perShard[1]!, total, `${table}: shards ${perShard.join(' + ')} against ${total} on one server`);
      assert.ok(perShard.every((n) => n > 0), `${table}: both shards hold rows (${perShard.join(', ')})`);
      assert.equal(await count(nodes[1]!, `SELECT count() AS n FROM ${DB}.${table}`), total, `${table} through the Distributed table`);
    }
    const tracesPerShard = await Promise.all(nodes.map((n) => count(n, `SELECT uniqExact(trace_id) AS n FROM ${DB}.spans_raw${LOCAL_SUFFIX}`)));
    assert.equal(tracesPerShard[0]! + tracesPerShard[1]!, await count(single, `SELECT uniqExact(trace_id) AS n FROM ${DB}.spans_raw`), 'no trace is split over shards');
    // The rollups are filled on each shard from its own rows, retries included, exactly once.
    assert.equal(await count(nodes[0]!, `SELECT sum(calls) AS n FROM ${DB}.spans_minute`), await count(single, `SELECT count() AS n FROM ${DB}.spans_raw`));
    assert.equal(await count(nodes[0]!, `SELECT sum(span_count) AS n FROM ${DB}.trace_index`), await count(single, `SELECT count() AS n FROM ${DB}.spans_raw`));
  });

  it('answers every Grafana panel and alert query as one server with the same rows does', async () => {
    const now = new Date();
    const ctx: QueryContext = { from: new Date(now.getTime() - 3600_000), to: new Date(now.getTime() + 60_000), intervalMs: 5000 };
    const tenants = (await run(single, `SELECT DISTINCT tenant_id FROM ${DB}.spans_raw ORDER BY tenant_id`)).data.map((r) => String(r.tenant_id));
    const traceId = String((await run(single, `SELECT trace_id FROM ${DB}.spans_raw ORDER BY trace_id LIMIT 1`)).data[0]!.trace_id);
    const queries: Array<{ title: string; sql: string }> = [];
    for (const d of Object.values(DASHBOARDS)) {
      for (const p of d.panels) {
        for (const t of p.targets ?? []) queries.push({ title: `${d.title} / ${p.title}`, sql: expandMacros(interpolateVariables(t.rawSql, { tenant: tenants, trace_id: [traceId] }), ctx) });
      }
    }
    const rules = (parse(readFileSync(join(GRAFANA_DIR, 'provisioning/alerting/rules.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ title: string; data: Array<{ datasourceUid: string; model: { rawSql?: string } }> }> }> }).groups.flatMap((g) => g.rules);
    for (const rule of rules) {
      for (const q of rule.data) if (q.datasourceUid === DATASOURCE.uid) queries.push({ title: `alert ${rule.title}`, sql: expandMacros(String(q.model.rawSql).replace(/\$\$/g, '$'), ctx) });
    }
    assert.ok(queries.length >= 35, `${queries.length} queries`);
    let nonEmpty = 0;
    for (const { title, sql } of queries) {
      const [one, cluster] = await Promise.all([run(single, sql), run(nodes[0]!, sql).catch((err: Error) => assert.fail(`${title}: ${err.message}\n${sql}`))]);
      assert.deepEqual(cluster.meta, one.meta, `${title}: columns`);
      const [a, b] = [sorted(one), sorted(cluster)];
      assert.equal(b.length, a.length, `${title}: rows\n${sql}`);
      for (const [i, row] of a.entries()) {
        for (const [column, value] of Object.entries(row)) assert.ok(sameValue(column, value, b[i]![column]), `${title}: row ${i} ${column}: ${JSON.stringify(b[i]![column])} on the cluster, ${JSON.stringify(value)} on one server\n${sql}`);
      }
      if (a.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty >= queries.length - 2, `${nonEmpty} of ${queries.length} queries returned rows`);
  });

  it('renders the production form ON CLUSTER with replicated tables, every statement accepted by the engine parser', async () => {
    const layout = schemaLayout({ database: DB, ttlDays: 30, cluster: CLUSTER });
    const statements = [...bootstrapStatements(DB, layout), ...renderMigrations({ database: DB, ttlDays: 30 }, layout).flatMap((m) => m.statements)];
    for (const s of statements) {
      assert.match(s, new RegExp(`^(CREATE|ALTER) [^(]*? ON CLUSTER ${CLUSTER}\\b`), s.split('\n')[0]);
      assert.doesNotMatch(s, /non_replicated_deduplication_window/);
      const formatted = await ch(s);
      assert.match(formatted, new RegExp(`ON CLUSTER ${CLUSTER}`));
    }
    const local = statements.filter((s) => new RegExp(`^CREATE TABLE IF NOT EXISTS ${DB}\\.\\w+${LOCAL_SUFFIX} `).test(s));
    assert.equal(local.length, 9, 'nine tables, each with a local table');
    assert.match(statements[1]!, /schema_migrations ON CLUSTER tracehouse .*ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{database\}\/\{table\}', '\{replica\}'\)/);
    for (const s of local) assert.match(s, /ENGINE = Replicated(Aggregating)?MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'\)/);
    for (const table of ['spans_raw', 'events_raw', 'logs_raw']) assert.ok(statements.some((s) => s.includes(`${DB}.${table} ON CLUSTER ${CLUSTER} AS ${DB}.${table}${LOCAL_SUFFIX} ENGINE = Distributed('${CLUSTER}', '${DB}', '${table}${LOCAL_SUFFIX}', cityHash64(trace_id`)), table);
    for (const s of statements.filter((x) => x.startsWith('CREATE MATERIALIZED VIEW'))) assert.doesNotMatch(s.replace(new RegExp(`${DB}\\.\\w+${LOCAL_SUFFIX}`, 'g'), ''), new RegExp(`${DB}\\.(spans_raw|logs_raw|\\w+_minute|trace_index|ingest_watermark)\\b`), 'a view reads and writes local tables only');

    async function ch(statement: string): Promise<string> {
      const r = await single.client.query({ query: 'SELECT formatQuery({q:String}) AS f', query_params: { q: statement }, format: 'JSONEachRow' });
      return ((await r.json()) as Array<{ f: string }>)[0]!.f;
    }
  });
});
