// Offline validation of the Grafana provisioning: the committed files are what the generator
// produces; every file has the shape Grafana and the ClickHouse plugin (v4) need; and EVERY panel
// and alert query, after variable and macro expansion exactly as Grafana does it, runs on the real
// engine over generated agent data with non-empty, correctly typed results. Headline numbers are
// checked against a direct computation over spans_raw.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { DASHBOARDS, DATASOURCE, type Dashboard, type Panel, type Target } from '../../grafana/src/dashboards.js';
import { GRAFANA_DIR, render } from '../../grafana/src/generate.js';
import { clickhouseEnv } from '../harness/pipeline.js';
import { type ClickHouseHandle, openClickHouse } from '../../services/shared/clickhouse/client.js';
import { migrate } from '../../services/shared/clickhouse/migrate.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { Normalizer } from '../../services/processors/genai/rows.js';
import { generate, generateLogs } from '../harness/generated-traces.js';
import { type QueryContext, expandMacros, interpolateVariables } from '../harness/grafana.js';

interface Result {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
  rows: number;
}

interface AlertRule {
  uid: string;
  title: string;
  condition: string;
  for: string;
  labels: Record<string, string>;
  noDataState: string;
  data: Array<{ refId: string; datasourceUid: string; relativeTimeRange: { from: number; to: number }; model: Record<string, unknown> }>;
}

const readYaml = <T>(path: string): T => parse(readFileSync(join(GRAFANA_DIR, path), 'utf8')) as T;
const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

describe('Grafana provisioning, validated offline on the real engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-grafana-'));
  let ch: ClickHouseHandle;
  let tenants: string[] = [];
  let traceId = '';
  const now = new Date();
  const dashboardCtx: QueryContext = { from: new Date(now.getTime() - 3600_000), to: new Date(now.getTime() + 60_000), intervalMs: 5000 };

  async function run(sql: string): Promise<Result> {
    return (await ch.client.query({ query: sql, format: 'JSON' })).json() as Promise<Result>;
  }

  function dashboardSql(target: Target, vars: Record<string, string[]>): string {
    return expandMacros(interpolateVariables(target.rawSql, vars), dashboardCtx);
  }

  const queryPanels = (d: Dashboard): Panel[] => d.panels.filter((p) => p.targets !== undefined);
  const allVars = (): Record<string, string[]> => ({ tenant: tenants, trace_id: [traceId] });

  before(async () => {
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, ...clickhouseEnv() });
    ch = await openClickHouse(cfg.exporters.clickhouse);
    await migrate(ch.client, { database: 'telemetry', ttlDays: 30 }, createLogger('test', 40));
    const sink = new TelemetrySink(ch, 'telemetry', new Registry(), createLogger('test', 50));
    const normalizer = new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
    const traces = generate(240, 42);
    for (let i = 0; i < traces.length; i += 40) {
      const batch = traces.slice(i, i + 40).map((t) => normalizer.normalize(t));
      await sink.insert({ spans: batch.flatMap((b) => b.spans), events: batch.flatMap((b) => b.events), logs: [] }, `grafana-test:${i}`);
    }
    const logs = generateLogs(240, 43).map((l) => normalizer.normalizeLogs(l));
    await sink.insert({ spans: [], events: logs.flatMap((l) => l.events), logs: logs.flatMap((l) => l.logs) }, 'grafana-test:logs');
    const variable = DASHBOARDS['agent-overview.json']!.templating.list[0] as { query: string };
    tenants = (await run(variable.query)).data.map((r) => String(r.tenant_id));
    traceId = traces[7]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId;
  });
  after(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits exactly what the generator produces', () => {
    for (const [path, content] of render()) assert.equal(readFileSync(join(GRAFANA_DIR, path), 'utf8'), content, `grafana/${path} is stale: run npm run grafana:generate`);
  });

  it('provisions the ClickHouse datasource and the dashboard folder as the plugin expects', () => {
    const ds = readYaml<{ datasources: Array<{ uid: string; type: string; jsonData: Record<string, unknown>; secureJsonData: Record<string, unknown> }> }>('provisioning/datasources/clickhouse.yaml').datasources[0]!;
    assert.equal(ds.type, DATASOURCE.type);
    assert.equal(ds.uid, DATASOURCE.uid);
    assert.ok(['http', 'native'].includes(String(ds.jsonData.protocol)));
    assert.equal(ds.jsonData.defaultDatabase, 'telemetry');
    assert.equal(ds.jsonData.database, undefined, 'the plugin reads defaultDatabase, not database');
    for (const key of ['host', 'port', 'username']) assert.ok(ds.jsonData[key] !== undefined, key);
    assert.ok(ds.secureJsonData.password !== undefined);
    const provider = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>('provisioning/dashboards/tracehouse.yaml').providers[0]!;
    assert.equal(provider.type, 'file');
  });

  it('gives every dashboard the shape Grafana needs: unique uids, ids and refIds, v4 SQL targets, a $tenant variable', () => {
    const uids = new Set<string>();
    for (const [file, d] of Object.entries(DASHBOARDS)) {
      assert.ok(!uids.has(d.uid), `duplicate dashboard uid ${d.uid}`);
      uids.add(d.uid);
      assert.ok(d.templating.list.some((v) => (v as { name: string }).name === 'tenant'), `${file} has $tenant`);
      const ids = new Set<number>();
      for (const p of d.panels) {
        assert.ok(!ids.has(p.id), `${file}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: ${p.title} fits the grid`);
        const refIds = new Set<string>();
        for (const t of p.targets ?? []) {
          assert.ok(!refIds.has(t.refId), `${file}: ${p.title} duplicate refId`);
          refIds.add(t.refId);
          assert.deepEqual(t.datasource, DATASOURCE);
          assert.equal(t.editorType, 'sql');
          assert.ok(Number(t.pluginVersion.split('.')[0]) >= 4, 'a target without pluginVersion >= 4 is migrated as a v3 query');
          assert.ok([0, 1, 3].includes(t.format), `${p.title}: format code`);
          assert.equal(t.queryType, { 0: 'timeseries', 1: 'table', 3: 'traces' }[t.format]);
          assert.equal(t.format === 0, p.type === 'timeseries', `${p.title}: time series panels use format 0`);
          if (t.rawSql.includes('tenant')) assert.match(t.rawSql, /tenant_id IN \(\$\{tenant:singlequote\}\)/);
        }
      }
      const committed = JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', file), 'utf8')) as Dashboard;
      assert.equal(committed.uid, d.uid);
    }
  });

  it('runs every panel query, for all tenants and for one, with non-empty, correctly typed results', async () => {
    let checked = 0;
    for (const d of Object.values(DASHBOARDS)) {
      for (const p of queryPanels(d)) {
        for (const vars of [allVars(), { tenant: [tenants[1]!], trace_id: [traceId] }]) {
          const t = p.targets![0]!;
          const sql = dashboardSql(t, vars);
          const r = await run(sql).catch((err: Error) => assert.fail(`${d.title} / ${p.title}: ${err.message}\n${sql}`));
          assert.ok(r.rows > 0, `${d.title} / ${p.title}: no rows (zero rows is an error in a time series panel)\n${sql}`);
          if (t.format === 0) {
            assert.equal(r.meta[0]!.name, 'time', `${p.title}: time column first`);
            assert.match(r.meta[0]!.type, /^DateTime/);
            const times = r.data.map((row) => String(row.time));
            assert.deepEqual(times, [...times].sort(), `${p.title}: rows sorted by time`);
            assert.ok(r.meta.slice(1).some((m) => NUMERIC.test(m.type)), `${p.title}: a numeric value column`);
            for (const m of r.meta.slice(1)) assert.ok(NUMERIC.test(m.type) || /String/.test(m.type), `${p.title}: ${m.name} is a value or a label`);
          }
          if (t.format === 3) {
            for (const col of ['traceID', 'spanID', 'parentSpanID', 'serviceName', 'operationName', 'startTime', 'duration', 'tags', 'serviceTags', 'references', 'logs']) assert.ok(r.meta.some((m) => m.name === col), `trace panel column ${col}`);
            assert.ok(r.data.every((row) => row.traceID === traceId));
            assert.equal(r.rows, 10, 'the whole trace');
          }
          if (p.type === 'stat') assert.ok(NUMERIC.test(r.meta[0]!.type), `${p.title}: stat is numeric`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 60, `checked ${checked} queries`);
  });

  it('shows headline numbers equal to a direct computation over spans_raw', async () => {
    const stat = async (file: string, title: string): Promise<Record<string, unknown>> => {
      const p = DASHBOARDS[file]!.panels.find((x) => x.title === title)!;
      return (await run(dashboardSql(p.targets![0]!, allVars()))).data[0]!;
    };
    const raw = (await run(`SELECT count() AS spans, countIf(status_code = 'ERROR') / count() AS error_rate, uniqExact(trace_id) AS traces,
        countIf(gen_ai_operation = 'chat') AS llm_calls, toFloat64(sumIf(cost_usd, gen_ai_operation = 'chat')) AS cost, sumIf(tokens_total, gen_ai_operation = 'chat') AS tokens,
        countIf(cost_source = 'unpriced') AS unpriced, countIf(gen_ai_operation = 'execute_tool') AS tool_calls
      FROM telemetry.spans_raw`)).data[0]!;
    assert.equal((await stat('agent-overview.json', 'Spans')).spans, raw.spans);
    assert.equal((await stat('agent-overview.json', 'Error rate')).error_rate, raw.error_rate);
    assert.equal((await stat('agent-overview.json', 'Traces')).traces, raw.traces);
    assert.equal((await stat('llm-cost.json', 'LLM calls')).calls, raw.llm_calls);
    assert.ok(Math.abs(Number((await stat('llm-cost.json', 'Cost')).cost_usd) - Number(raw.cost)) < 1e-9);
    assert.equal((await stat('llm-cost.json', 'Tokens')).tokens, raw.tokens);
    assert.equal((await stat('llm-cost.json', 'Unpriced calls')).unpriced_calls, raw.unpriced);
    const toolsTable = DASHBOARDS['tools.json']!.panels.find((p) => p.title === 'Tools')!;
    const toolRows = (await run(dashboardSql(toolsTable.targets![0]!, allVars()))).data;
    assert.equal(toolRows.reduce((n, r) => n + Number(r.calls), 0), Number(raw.tool_calls));
    const workflows = DASHBOARDS['llm-cost.json']!.panels.find((p) => p.title === 'Top workflows by cost')!;
    const wf = (await run(dashboardSql(workflows.targets![0]!, allVars()))).data;
    const direct = (await run(`SELECT w.workflow_id AS workflow_id, toFloat64(sum(s.cost_usd)) AS cost FROM telemetry.spans_raw s INNER JOIN (SELECT DISTINCT trace_id, workflow_id FROM telemetry.spans_raw WHERE workflow_id != '') w ON s.trace_id = w.trace_id GROUP BY workflow_id ORDER BY cost DESC LIMIT 10`)).data;
    assert.deepEqual(wf.map((r) => r.workflow_id), direct.map((r) => r.workflow_id));
    for (const [i, r] of wf.entries()) assert.ok(Math.abs(Number(r.cost_usd) - Number(direct[i]!.cost)) < 1e-9);
  });

  it('provisions alert rules Grafana accepts, with every $ escaped for its env expansion', () => {
    const rules = readYaml<{ apiVersion: number; groups: Array<{ folder: string; interval: string; rules: AlertRule[] }> }>('provisioning/alerting/rules.yaml');
    assert.equal(rules.apiVersion, 1);
    const all = rules.groups.flatMap((g) => g.rules);
    assert.equal(new Set(all.map((r) => r.uid)).size, all.length, 'unique rule uids');
    assert.ok(all.length >= 6);
    for (const r of all) {
      assert.ok(r.data.some((q) => q.refId === r.condition), `${r.title}: condition ${r.condition} exists`);
      assert.ok(['page', 'ticket'].includes(r.labels.severity!));
      assert.match(r.for, /^\d+[smh]$/);
      for (const q of r.data) {
        assert.ok([DATASOURCE.uid, '__expr__'].includes(q.datasourceUid));
        if (q.datasourceUid !== DATASOURCE.uid) continue;
        const sql = String(q.model.rawSql);
        assert.doesNotMatch(sql.replace(/\$\$/g, ''), /\$/, `${r.title}: a single $ would be eaten by Grafana's env expansion`);
        assert.doesNotMatch(sql, /\$\$\{?tenant/, 'alert rules get no dashboard variables');
        assert.ok(q.relativeTimeRange.from > 0);
      }
    }
    const contact = readYaml<{ contactPoints: Array<{ name: string }> }>('provisioning/alerting/contact-points.yaml');
    const policies = readYaml<{ policies: Array<{ receiver: string; routes: Array<{ receiver: string }> }> }>('provisioning/alerting/notification-policies.yaml');
    const receivers = new Set(contact.contactPoints.map((c) => c.name));
    for (const p of policies.policies) for (const name of [p.receiver, ...p.routes.map((x) => x.receiver)]) assert.ok(receivers.has(name), `route to known receiver ${name}`);
  });

  it('evaluates every alert query on the real engine; the burn rate equals a direct computation', async () => {
    const rules = readYaml<{ groups: Array<{ rules: AlertRule[] }> }>('provisioning/alerting/rules.yaml').groups.flatMap((g) => g.rules);
    const values = new Map<string, Result>();
    for (const rule of rules) {
      const q = rule.data.find((d) => d.datasourceUid === DATASOURCE.uid)!;
      // Grafana: env expansion turns $$ into $; then the plugin expands macros over the rule's window.
      const ctx: QueryContext = { from: new Date(now.getTime() - q.relativeTimeRange.from * 1000), to: new Date(now.getTime() + 60_000), intervalMs: Number(q.model.intervalMs ?? 1000) };
      const sql = expandMacros(String(q.model.rawSql).replace(/\$\$/g, '$'), ctx);
      const r = await run(sql).catch((err: Error) => assert.fail(`${rule.title}: ${err.message}\n${sql}`));
      assert.ok(r.rows > 0, `${rule.title}: no rows\n${sql}`);
      const value = r.meta[r.meta.length - 1]!;
      assert.match(value.type, NUMERIC, `${rule.title}: the last column is the alert value`);
      for (const m of r.meta.slice(0, -1)) assert.match(m.type, /String/, `${rule.title}: other columns are labels`);
      values.set(rule.uid, r);
    }
    // ~10% of generated spans fail: far over a 99.9% SLO, so the fast burn must exceed 14.4 for every tenant.
    const to = Math.floor((now.getTime() + 60_000) / 1000);
    const direct = await run(`SELECT tenant_id,
        least(countIf(status_code = 'ERROR' AND toStartOfMinute(toDateTime(start_ts)) > toDateTime(${to}) - INTERVAL 5 MINUTE) / greatest(countIf(toStartOfMinute(toDateTime(start_ts)) > toDateTime(${to}) - INTERVAL 5 MINUTE), 1),
              countIf(status_code = 'ERROR') / count()) / 0.001 AS burn_rate
      FROM telemetry.spans_raw WHERE toStartOfMinute(toDateTime(start_ts)) > toDateTime(${to}) - INTERVAL 60 MINUTE GROUP BY tenant_id ORDER BY tenant_id`);
    const fast = values.get('tracehouse-slo-burn-1h')!.data.sort((a, b) => String(a.tenant_id).localeCompare(String(b.tenant_id)));
    assert.equal(fast.length, direct.rows);
    for (const [i, row] of fast.entries()) {
      assert.equal(row.tenant_id, direct.data[i]!.tenant_id);
      assert.ok(Math.abs(Number(row.burn_rate) - Number(direct.data[i]!.burn_rate)) < 1e-6, `${row.tenant_id}: ${row.burn_rate} vs ${direct.data[i]!.burn_rate}`);
      assert.ok(Number(row.burn_rate) > 14.4, 'the fast-burn page would fire');
    }
    for (const row of values.get('tracehouse-ingest-stalled')!.data) assert.ok(Number(row.seconds_since_ingest) < 300, 'fresh data: ingestion is not stalled');
  });
});
