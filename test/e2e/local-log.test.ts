// The local durable log in `tracehouse start` without Kafka, on the real ClickHouse server: the
// process SIGKILLed twice under load and restarted stores every acknowledged span exactly once, with
// rollups that match; SIGTERM drains what was read; with ClickHouse stalled the receiver keeps
// answering from the log until its cap, then 503 with Retry-After, and everything acknowledged is
// stored once the server is back.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createClient } from '@clickhouse/client';
import { startApp } from '../../services/app.js';
import { resolveConfig } from '../../services/config.js';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { localClickHouse } from '../../services/shared/clickhouse/client.js';
import { createLogger } from '../../services/shared/log.js';
import { freePort } from '../../services/shared/ports.js';
import { generate } from '../harness/generated-traces.js';
import { clickhouseEnv, waitFor } from '../harness/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends generated traces (10 spans each, unique ids from `first`) until stopped; records which were acknowledged. */
function load(url: () => string, first: number, tenant: string): { acked: Set<string>; refused: Map<number, number>; stop(): Promise<void> } {
  const acked = new Set<string>();
  const refused = new Map<number, number>();
  let running = true;
  let next = first;
  const worker = async (): Promise<void> => {
    while (running) {
      const [trace] = generate(1, next, next++);
      for (const rs of trace!.resourceSpans) rs.resource.attributes = rs.resource.attributes.map((kv) => (kv.key === 'tenant.id' ? { key: kv.key, value: { stringValue: tenant } } : kv));
      const traceId = trace!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId;
      try {
        const res = await fetch(`${url()}/v1/traces`, { method: 'POST', body: encodeTracesProtobuf(trace!), headers: { 'content-type': 'application/x-protobuf' }, signal: AbortSignal.timeout(10_000) });
        if (res.status === 200) acked.add(traceId);
        else refused.set(res.status, (refused.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
      } catch {
        await sleep(50);
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  return {
    acked,
    refused,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

describe('the local durable log (tracehouse start without Kafka)', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('SIGKILLed twice under load and restarted: every acknowledged span stored once, rollups exact; SIGTERM drains', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-locallog-'));
    dirs.push(dataDir);
    const database = `locallog_${Date.now().toString(36)}`;
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, ...clickhouseEnv(database), TRACEHOUSE_DATA_DIR: dataDir, OTLP_HTTP_ENDPOINT: `127.0.0.1:${port}`, OTLP_GRPC_ENDPOINT: '127.0.0.1:0', TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:0', BATCH_MAX_ROWS: '300', BATCH_TIMEOUT: '200ms', LOG_LEVEL: 'info' };
    delete env.KAFKA_BROKERS;
    let child: ChildProcess | undefined;
    let output = '';
    const startProcess = async (): Promise<ChildProcess> => {
      const c = spawn(process.execPath, [CLI, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await waitFor(async () => output.includes('Tracehouse is running'), 60_000, 'tracehouse start');
      output = '';
      return c;
    };
    const tenant = 'locallog-kill';
    const traffic = load(() => `http://127.0.0.1:${port}`, 50_000, tenant);
    try {
      for (const runFor of [2500, 3500]) {
        child = await startProcess();
        await sleep(runFor + Math.floor(Math.random() * 1000));
        child.kill('SIGKILL');
        await new Promise((r) => child!.once('exit', r));
      }
      child = await startProcess();
      await sleep(2000);
      await traffic.stop();
      assert.ok(traffic.acked.size > 50, `acknowledged ${traffic.acked.size} traces`);
      const ch = createClient({ url: env.CLICKHOUSE_URL, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD });
      const q = async (sql: string): Promise<Array<Record<string, string>>> => (await (await ch.query({ query: sql, query_params: { tenant }, format: 'JSONEachRow' })).json()) as Array<Record<string, string>>;
      /** Spans stored per acknowledged trace (too many ids to bind as a parameter). */
      const ackedSpans = async (): Promise<number> => {
        const perTrace = new Map((await q(`SELECT trace_id, count() AS n FROM ${database}.spans_raw WHERE tenant_id = {tenant:String} GROUP BY trace_id`)).map((r) => [r.trace_id!, Number(r.n)]));
        return [...traffic.acked].reduce((n, id) => n + (perTrace.get(id) ?? 0), 0);
      };
      try {
        // The drain takes as long as what was acknowledged needs (that varies with the box): it must
        // keep making progress, and a failure says how far it got.
        const wanted = traffic.acked.size * 10;
        const deadline = Date.now() + 240_000;
        let stored = await ackedSpans();
        let progressAt = Date.now();
        while (stored < wanted) {
          assert.ok(Date.now() - progressAt < 20_000 && Date.now() < deadline, `${stored} of ${wanted} acknowledged spans stored, none more for ${Date.now() - progressAt} ms`);
          await sleep(500);
          const now = await ackedSpans();
          if (now > stored) progressAt = Date.now();
          stored = now;
        }
        child.kill('SIGTERM');
        const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
        assert.equal(code, 0, `SIGTERM exits 0:\n${output.slice(-2000)}`);
        // Once: no span twice, whatever crashed when; every acknowledged span there.
        const [totals] = await q(`SELECT count() AS rows, uniqExact(trace_id, span_id) AS spans FROM ${database}.spans_raw WHERE tenant_id = {tenant:String}`);
        assert.equal(Number(totals!.rows), Number(totals!.spans), 'no span stored twice');
        assert.equal(await ackedSpans(), traffic.acked.size * 10, 'every span of every acknowledged trace');
        const [rollup] = await q(`SELECT sum(calls) AS calls FROM ${database}.spans_minute WHERE tenant_id = {tenant:String}`);
        assert.equal(Number(rollup!.calls), Number(totals!.rows), 'spans_minute counts each stored span once');
        const [events] = await q(`SELECT count() AS n, uniqExact(trace_id, span_id, event_type, event_ts) AS distinct_events FROM ${database}.events WHERE tenant_id = {tenant:String}`);
        assert.equal(Number(events!.n), Number(events!.distinct_events), 'no event stored twice');
      } finally {
        await ch.close();
      }
    } finally {
      await traffic.stop();
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('with ClickHouse stalled, answers from the log until its cap, then 503 + Retry-After; all acknowledged stored once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracehouse-locallog-ch-'));
    dirs.push(dir);
    const chCfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
    const { endpoint, server } = await localClickHouse(chCfg, createLogger('locallog-test', 40));
    const dataDir = join(dir, 'app');
    const config = resolveConfig(
      { receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } }, processors: { batch: { send_batch_size: 200, timeout: '200ms' } }, service: { telemetry: { metrics: { address: '127.0.0.1:0' } } } },
      { TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_USER: endpoint.username, CLICKHOUSE_PASSWORD: endpoint.password, TRACEHOUSE_LOCAL_LOG_MAX_BYTES: String(256 * 1024), CLICKHOUSE_TIMEOUT: '60s' },
    );
    const app = await startApp('all', config, createLogger('locallog-test', 40));
    const tenant = 'locallog-stall';
    try {
      const pid = server!.pid!;
      process.kill(pid, 'SIGSTOP');
      const traffic = load(() => `http://127.0.0.1:${app.otlpPort}`, 90_000, tenant);
      await waitFor(async () => (traffic.refused.get(503) ?? 0) > 0, 60_000, 'the log to reach its cap');
      const ackedWhileStalled = traffic.acked.size;
      assert.ok(ackedWhileStalled > 10, `answered ${ackedWhileStalled} requests from the log while ClickHouse was stalled`);
      const res = await fetch(`http://127.0.0.1:${app.otlpPort}/v1/traces`, { method: 'POST', body: encodeTracesProtobuf(generate(1, 1, 99_999)[0]!), headers: { 'content-type': 'application/x-protobuf' } });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      process.kill(pid, 'SIGCONT');
      await sleep(1500);
      await traffic.stop();
      const ch = createClient({ url: endpoint.url, username: endpoint.username, password: endpoint.password });
      try {
        const count = async (): Promise<Record<string, string>> => ((await (await ch.query({ query: `SELECT count() AS rows, uniqExact(trace_id, span_id) AS spans, countIf(has({ids:Array(String)}, trace_id)) AS acked_rows FROM telemetry.spans_raw WHERE tenant_id = {tenant:String}`, query_params: { tenant, ids: [...traffic.acked] }, format: 'JSONEachRow' })).json()) as Array<Record<string, string>>)[0]!;
        await waitFor(async () => Number((await count()).acked_rows) === traffic.acked.size * 10, 60_000, 'the log drained into ClickHouse');
        const totals = await count();
        assert.equal(Number(totals.rows), Number(totals.spans), 'no span stored twice');
      } finally {
        await ch.close();
      }
    } finally {
      if (server!.pid !== undefined) process.kill(server!.pid, 'SIGCONT');
      await app.stop();
      await server!.stop();
    }
  });
});
