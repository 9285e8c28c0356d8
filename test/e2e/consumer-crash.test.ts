// Exactly-once under crashes: a consumer process (real broker, embedded engine) is killed with
// SIGKILL at five crash points in turn (after a batch's pending commit and before its INSERT,
// between an INSERT and its commit (twice), after a commit, and at a random moment), restarted each
// time, then run to the end and stopped with SIGTERM. It reads a spans topic and a logs topic (two
// consumer groups, one protocol). Every span must be in spans_raw exactly once, every log line in
// logs_raw and every GenAI event in events_raw exactly once, and every rollup must agree with its table. Each run batches by a different size, as timer
// flushes and config changes do in production, so re-read data only lands once if the pending
// batch is rebuilt exactly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { openClickHouse } from '../../services/shared/clickhouse/client.js';
import { resolveConfig } from '../../services/config.js';
import { encodeLogsProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { GENAI_EVENTS_PER_MESSAGE, LOG_LINES_PER_MESSAGE, generate, generateLogs } from '../harness/generated-traces.js';
import { clickhouseEnv, waitFor } from '../harness/pipeline.js';
import { createTopicsWithLeaders } from '../../services/shared/kafka.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const TRACES = 300;
const SPANS = TRACES * 10;
const LOG_MESSAGES = 150;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
}

describe('consumer killed with SIGKILL mid-stream', () => {
  const brokers = process.env.KAFKA_BROKERS!;
  const id = Date.now().toString(36);
  const topic = `crash-${id}`;
  const logsTopic = `crash-logs-${id}`;
  const group = `crash-group-${id}`;
  const database = `crash_${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-crash-'));
  const kafka = new Kafka({ brokers: [brokers], clientId: 'crash-test', logLevel: 0 });
  const runs: Run[] = [];
  let chatSpans = 0;
  let events = 0;

  /** Starts the consumer; resolves when it exits. `stopWhen` sends SIGTERM once it returns true. */
  const batchSizes = ['60', '45', '80', '35', '50', '70'];

  function runConsumer(env: Record<string, string>, killAfterMs?: number, stopWhen?: () => Promise<boolean>): Promise<Run> {
    const child = spawn(process.execPath, [CLI, 'consumer'], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: brokers, KAFKA_TOPIC: topic, KAFKA_LOGS_TOPIC: logsTopic, KAFKA_GROUP_ID: group, KAFKA_SESSION_TIMEOUT: '6s', TRACEHOUSE_DATA_DIR: dataDir, ...clickhouseEnv(database), TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:0', BATCH_MAX_ROWS: batchSizes[runs.length % batchSizes.length]!, BATCH_TIMEOUT: '300ms', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    if (killAfterMs !== undefined) {
      // Kill once it has joined and started writing, at a moment the test does not choose.
      void waitFor(async () => log.includes('joined consumer group'), 60_000, 'join').then(() => setTimeout(() => child.kill('SIGKILL'), killAfterMs));
    }
    if (stopWhen) {
      const poll = async (): Promise<void> => {
        while (child.exitCode === null && child.signalCode === null) {
          if (await stopWhen()) return void child.kill('SIGTERM');
          await new Promise((r) => setTimeout(r, 300));
        }
      };
      void poll();
    }
    return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal, log })));
  }

  async function committedEverything(): Promise<boolean> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const [t, groupId] of [[topic, group], [logsTopic, `${group}-logs`]] as const) {
        const ends = await admin.fetchTopicOffsets(t);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [t] });
        if (!ends.every((e) => committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high)) return false;
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  before(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 6 }, { topic: logsTopic, numPartitions: 3 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const traces = generate(TRACES, 11);
    for (const t of traces) {
      for (const span of t.resourceSpans[0]!.scopeSpans[0]!.spans) {
        if (span.name.startsWith('chat ')) chatSpans++;
        events += span.events.length;
      }
    }
    await producer.send({ topic, acks: -1, messages: traces.map((t) => ({ key: t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId, value: Buffer.from(encodeTracesProtobuf(t)) })) });
    await producer.send({ topic: logsTopic, acks: -1, messages: generateLogs(LOG_MESSAGES, 12).map((l) => ({ key: null, value: Buffer.from(encodeLogsProtobuf(l)) })) });
    await producer.disconnect();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('loses nothing and duplicates nothing across five crash points', async () => {
    for (const failpoint of ['batch-before-insert:3', 'batch-after-insert:2', 'batch-after-commit:4', 'batch-after-insert:5']) {
      const run = await runConsumer({ TRACEHOUSE_FAILPOINTS: failpoint });
      runs.push(run);
      assert.equal(run.signal, 'SIGKILL', `failpoint ${failpoint} fired (exit ${run.code}):\n${run.log.slice(-2000)}`);
      assert.match(run.log, new RegExp(`failpoint ${failpoint.split(':')[0]}: SIGKILL`));
    }
    const random = await runConsumer({}, 700);
    runs.push(random);
    assert.equal(random.signal, 'SIGKILL');

    const last = await runConsumer({}, undefined, committedEverything);
    runs.push(last);
    assert.equal(last.code, 0, `the last run stops cleanly on SIGTERM:\n${last.log.slice(-2000)}`);

    const ch = await openClickHouse(resolveConfig({}, clickhouseEnv(database)).exporters.clickhouse);
    try {
      const q = async (sql: string): Promise<Record<string, string>> => ((await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json()) as Array<Record<string, string>>)[0]!;
      assert.deepEqual(await q(`SELECT count() AS rows, uniqExact(span_id) AS spans FROM ${database}.spans_raw`), { rows: String(SPANS), spans: String(SPANS) });
      assert.deepEqual(await q(`SELECT count() AS n FROM ${database}.events WHERE operation != ''`), { n: String(events) });
      assert.deepEqual(await q(`SELECT count() AS n, uniqExact(trace_id, event_type) AS distinct FROM ${database}.events_raw WHERE operation = ''`), { n: String(LOG_MESSAGES * GENAI_EVENTS_PER_MESSAGE), distinct: String(LOG_MESSAGES * GENAI_EVENTS_PER_MESSAGE) });
      assert.deepEqual(await q(`SELECT count() AS rows, uniqExact(body) AS lines FROM ${database}.logs_raw`), { rows: String(LOG_MESSAGES * LOG_LINES_PER_MESSAGE), lines: String(LOG_MESSAGES * LOG_LINES_PER_MESSAGE) });
      assert.deepEqual(await q(`SELECT sum(records) AS n FROM ${database}.logs_minute`), { n: String(LOG_MESSAGES * LOG_LINES_PER_MESSAGE) });
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.spans_minute`), { n: String(SPANS) });
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.llm_minute`), { n: String(chatSpans) });
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.tool_minute`), await q(`SELECT count() AS n FROM ${database}.spans_raw WHERE gen_ai_operation = 'execute_tool'`));
      assert.deepEqual(await q(`SELECT sum(span_count) AS n, uniqExact(trace_id) AS traces FROM ${database}.trace_index`), { n: String(SPANS), traces: String(TRACES) });
      assert.deepEqual(
        await q(`SELECT sum(tokens_total) AS t, toString(sum(cost_usd)) AS c FROM ${database}.llm_minute`),
        await q(`SELECT sum(tokens_total) AS t, toString(sum(toDecimal128(cost_usd, 10))) AS c FROM ${database}.spans_raw WHERE gen_ai_operation = 'chat'`),
      );
    } finally {
      await ch.close();
    }
    const rebuilt = runs.reduce((n, r) => n + (r.log.match(/rebuilding pending batch/g)?.length ?? 0), 0);
    assert.ok(rebuilt >= 2, `pending batches were rebuilt after the INSERT/commit crashes (saw ${rebuilt})`);
  });
});
