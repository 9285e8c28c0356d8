// The newcomer path: `tracehouse start` with no Kafka and no ClickHouse server runs on the embedded
// engine, accepts SDK traces, answers `tracehouse query` through the running instance, and exits 0
// on SIGTERM with everything it acknowledged stored.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { allExportsSucceeded, emitAgentRun, sdkClient } from '../harness/agent-traces.js';
import { freePort } from '../harness/kafka-broker.js';
import { waitFor } from '../harness/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const run = promisify(execFile);

describe('tracehouse start (embedded default, no Kafka)', () => {
  let child: ChildProcess;
  let stderr = '';
  let env: NodeJS.ProcessEnv;
  let otlpPort: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-start-'));

  before(async () => {
    otlpPort = await freePort();
    const adminPort = await freePort();
    env = { ...process.env, OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`, TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${adminPort}`, TRACEHOUSE_DATA_DIR: dataDir, BATCH_TIMEOUT: '100ms', LOG_LEVEL: 'info' };
    delete env.KAFKA_BROKERS;
    delete env.CLICKHOUSE_URL;
    child = spawn(process.execPath, [CLI, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.resume();
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(async () => stderr.includes('Tracehouse is running'), 60_000, 'the start banner');
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints where to send spans and how to query', () => {
    assert.match(stderr, new RegExp(`http://127\\.0\\.0\\.1:${otlpPort}/v1/traces`));
    assert.match(stderr, /npx tracehouse query/);
    assert.match(stderr, /not configured: direct path/);
  });

  it('stores SDK traces and answers `tracehouse query` through the running instance', async () => {
    const client = sdkClient({ endpoint: `http://127.0.0.1:${otlpPort}`, protocol: 'protobuf', gzip: false, resource: { 'service.name': 'newcomer-agent', 'tenant.id': 'newcomer' } });
    for (let i = 0; i < 4; i++) emitAgentRun(client.tracer, i);
    await client.flush();
    await client.shutdown();
    assert.ok(allExportsSucceeded(client));
    // Acked only after the INSERT: the rows are queryable as soon as the export returned.
    const { stdout } = await run(process.execPath, [CLI, 'query', "SELECT operation, count() AS n FROM telemetry.spans_raw WHERE tenant_id = 'newcomer' GROUP BY operation ORDER BY operation"], { cwd: ROOT, env });
    const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as { operation: string; n: string });
    assert.deepEqual(rows, [
      { operation: 'chat gpt-4o', n: '8' },
      { operation: 'execute_tool calculator', n: '4' },
      { operation: 'execute_tool web_search', n: '4' },
      { operation: 'invoke_agent research_assistant', n: '4' },
    ]);
  });

  it('tracehouse demo sends multi-tenant agent traffic that lands and is queryable', async () => {
    const demo = await run(process.execPath, [CLI, 'demo', '--endpoint', `http://127.0.0.1:${otlpPort}`, '--rate', '20', '--duration', '2'], { cwd: ROOT, env });
    assert.match(demo.stderr, /demo: \d+ runs, \d+ spans sent/);
    assert.doesNotMatch(demo.stderr, /exports failed/);
    const { stdout } = await run(process.execPath, [CLI, 'query', "SELECT tenant_id, countIf(gen_ai_operation = 'chat') AS llm, countIf(gen_ai_operation = 'execute_tool') AS tools, countIf(cost_source = 'computed') AS priced, uniqExact(provider) AS providers FROM telemetry.spans_raw WHERE tenant_id IN ('acme', 'globex', 'initech') GROUP BY tenant_id ORDER BY tenant_id"], { cwd: ROOT, env });
    const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(rows.map((r) => r.tenant_id), ['acme', 'globex', 'initech']);
    for (const r of rows) {
      assert.ok(Number(r.llm) > 0 && Number(r.tools) > 0 && Number(r.priced) > 0, JSON.stringify(r));
    }
  });

  it('refuses writes through the query command', async () => {
    await assert.rejects(run(process.execPath, [CLI, 'query', 'DROP TABLE telemetry.spans_raw'], { cwd: ROOT, env }), /only SELECT/);
    await assert.rejects(run(process.execPath, [CLI, 'query', 'SELECT 1; DROP TABLE telemetry.spans_raw'], { cwd: ROOT, env }), /only one statement/);
  });

  it('exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
