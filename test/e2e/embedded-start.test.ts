// The newcomer path: `tracehouse start` with no Kafka and no CLICKHOUSE_URL starts its local
// ClickHouse server, accepts SDK traces over OTLP/HTTP and OTLP/gRPC, answers `tracehouse query` (read-only user, over HTTP,
// whatever the admin port), and exits 0 on SIGTERM, stopping the server, with everything it
// acknowledged stored.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { exportAgentRuns } from '../harness/agent-traces.js';
import { freePort } from '../../services/shared/ports.js';
import { waitFor } from '../harness/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const run = promisify(execFile);

describe('tracehouse start (local ClickHouse server, no Kafka)', () => {
  let child: ChildProcess;
  let stderr = '';
  let env: NodeJS.ProcessEnv;
  let otlpPort: number;
  let grpcPort: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-start-'));

  before(async () => {
    otlpPort = await freePort();
    grpcPort = await freePort();
    const adminPort = await freePort();
    env = { ...process.env, OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`, OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`, TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${adminPort}`, TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: String(await freePort()), CLICKHOUSE_TCP_PORT: String(await freePort()), BATCH_TIMEOUT: '100ms', LOG_LEVEL: 'info' };
    for (const v of ['KAFKA_BROKERS', 'CLICKHOUSE_URL', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD']) delete env[v];
    child = spawn(process.execPath, [CLI, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.resume();
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(async () => stderr.includes('Tracehouse is running'), 60_000, 'the start banner');
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** `tracehouse query` until its rows satisfy `done` (the spans reach ClickHouse a batch after their ack). */
  async function queryWhen(sql: string, done: (rows: Array<Record<string, string>>) => boolean): Promise<Array<Record<string, string>>> {
    let rows: Array<Record<string, string>> = [];
    await waitFor(async () => {
      const { stdout } = await run(process.execPath, [CLI, 'query', sql], { cwd: ROOT, env });
      rows = stdout.trim() === '' ? [] : stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
      return done(rows);
    }, 20_000, sql);
    return rows;
  }

  it('prints where to send spans and how to query', () => {
    assert.match(stderr, new RegExp(`http://127\\.0\\.0\\.1:${otlpPort}/v1/traces`));
    assert.match(stderr, new RegExp(`OTLP/gRPC traces to  127\\.0\\.0\\.1:${grpcPort}`));
    assert.match(stderr, /npx tracehouse query/);
    assert.match(stderr, /not configured: the local durable log \(.*local-log\) takes its place/);
  });

  it('stores SDK traces and answers `tracehouse query` through the running instance', async () => {
    assert.ok(await exportAgentRuns(`http://127.0.0.1:${otlpPort}`, 4, { 'service.name': 'newcomer-agent', 'tenant.id': 'newcomer' }));
    // Acked once on disk in the local log; queryable after its next batch (BATCH_TIMEOUT here: 100 ms).
    const rows = await queryWhen("SELECT operation, count() AS n FROM telemetry.spans_raw WHERE tenant_id = 'newcomer' GROUP BY operation ORDER BY operation", (r) => r.reduce((n, x) => n + Number(x.n), 0) >= 20);
    assert.deepEqual(rows, [
      { operation: 'chat gpt-4o', n: '8' },
      { operation: 'execute_tool calculator', n: '4' },
      { operation: 'execute_tool web_search', n: '4' },
      { operation: 'invoke_agent research_assistant', n: '4' },
    ]);
  });

  it('stores traces a real OTLP/gRPC exporter sends to :4317-style endpoint', async () => {
    assert.ok(await exportAgentRuns(`http://127.0.0.1:${grpcPort}`, 2, { 'service.name': 'grpc-agent', 'tenant.id': 'newcomer-grpc' }, { protocol: 'grpc', gzip: true }));
    const rows = await queryWhen("SELECT count() AS n, uniqExact(span_id) AS spans FROM telemetry.spans_raw WHERE tenant_id = 'newcomer-grpc'", (r) => Number(r[0]?.n) >= 10);
    assert.deepEqual(rows, [{ n: '10', spans: '10' }]);
  });

  it('stores OTLP logs through the local log too: a GenAI event in events_raw, a log line in logs_raw', async () => {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const logs = {
      resourceLogs: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'newcomer-agent' } }, { key: 'tenant.id', value: { stringValue: 'newcomer-logs' } }] },
        scopeLogs: [{ logRecords: [
          { timeUnixNano: now, eventName: 'gen_ai.user.message', traceId, spanId: '00f067aa0ba902b7', body: { kvlistValue: { values: [{ key: 'role', value: { stringValue: 'user' } }, { key: 'content', value: { stringValue: 'hello' } }] } } },
          { timeUnixNano: now, severityNumber: 'SEVERITY_NUMBER_ERROR', severityText: 'ERROR', traceId, body: { stringValue: 'tool call failed' } },
        ] }],
      }],
    };
    const res = await fetch(`http://127.0.0.1:${otlpPort}/v1/logs`, { method: 'POST', body: JSON.stringify(logs), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const lines = await queryWhen("SELECT body, severity_text, severity_number, trace_id FROM telemetry.logs_raw WHERE tenant_id = 'newcomer-logs'", (r) => r.length >= 1);
    assert.deepEqual(lines, [{ body: 'tool call failed', severity_text: 'ERROR', severity_number: 17, trace_id: traceId }]);
    const events = await queryWhen("SELECT event_type, payload_json FROM telemetry.events_raw WHERE tenant_id = 'newcomer-logs'", (r) => r.length >= 1);
    assert.deepEqual(events, [{ event_type: 'gen_ai.user.message', payload_json: '{"role":"user","content":"hello"}' }]);
  });

  it('tracehouse demo sends multi-tenant agent traffic that lands and is queryable', async () => {
    const demo = await run(process.execPath, [CLI, 'demo', '--endpoint', `http://127.0.0.1:${otlpPort}`, '--rate', '20', '--duration', '2'], { cwd: ROOT, env });
    assert.match(demo.stderr, /demo: \d+ runs, \d+ spans sent/);
    assert.doesNotMatch(demo.stderr, /exports failed/);
    const rows = await queryWhen("SELECT tenant_id, countIf(gen_ai_operation = 'chat') AS llm, countIf(gen_ai_operation = 'execute_tool') AS tools, countIf(cost_source = 'computed') AS priced, uniqExact(provider) AS providers FROM telemetry.spans_raw WHERE tenant_id IN ('acme', 'globex', 'initech') GROUP BY tenant_id ORDER BY tenant_id", (r) => r.length === 3);
    assert.deepEqual(rows.map((r) => r.tenant_id), ['acme', 'globex', 'initech']);
    for (const r of rows) {
      assert.ok(Number(r.llm) > 0 && Number(r.tools) > 0 && Number(r.priced) > 0, JSON.stringify(r));
    }
  });

  it('queries as the read-only user: writes, several statements, file() and url() are refused by the server', async () => {
    const query = (sql: string, ...extra: string[]) => run(process.execPath, [CLI, 'query', sql, ...extra], { cwd: ROOT, env });
    await assert.rejects(query('DROP TABLE telemetry.spans_raw'), /READONLY|ACCESS_DENIED|readonly/);
    await assert.rejects(query("INSERT INTO telemetry.ingest_watermark (tenant_id) VALUES ('x')"), /READONLY|ACCESS_DENIED|readonly/);
    await assert.rejects(query('SELECT 1; DROP TABLE telemetry.spans_raw'), /Multi-statements are not allowed|SYNTAX_ERROR/);
    await assert.rejects(query("SELECT * FROM file('/etc/hostname', 'LineAsString')"), /ACCESS_DENIED/);
    await assert.rejects(query("SELECT * FROM url('http://127.0.0.1:1/x', 'LineAsString')"), /ACCESS_DENIED/);
    const rows = await query("SELECT count() AS n FROM telemetry.spans_raw WHERE tenant_id = 'newcomer'");
    assert.ok(Number((JSON.parse(rows.stdout) as { n: string }).n) > 0);
    assert.equal((await query('SELECT 1 AS x, 2 AS y FORMAT CSV')).stdout, '1,2\n');
    assert.equal((await query('SELECT 1 AS x', '--format', 'TSVWithNames')).stdout, 'x\n1\n');
  });

  it('exits 0 on SIGTERM and stops its ClickHouse server', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const url = `http://127.0.0.1:${env.CLICKHOUSE_HTTP_PORT}/ping`;
    await assert.rejects(fetch(url), 'the server is gone');
  });
});
