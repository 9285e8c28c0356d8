// A pending batch that spans partitions now owned by different members of the group (real broker,
// ClickHouse server, consumer processes). A consumer owning both partitions of a topic dies right
// after committing the batch's marker on both (failpoint). A plain kafkajs member that never
// commits then holds one partition while a new consumer gets the other: that consumer rebuilds the
// whole batch, reading the other member's partition outside its assignment, inserts it and commits
// only its own partition. Once the plain member leaves, the consumer takes its partition, finds the
// same marker there and rebuilds the batch again: a dedup hit. Every span must be stored once.
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
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { parsePending } from '../../services/receivers/kafka/partition-batches.js';
import { generate } from '../harness/generated-traces.js';
import { clickhouseEnv, waitFor } from '../harness/pipeline.js';
import { createTopicsWithLeaders } from '../../services/shared/kafka.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const TRACES = 60;
const SPANS = TRACES * 10;

interface Consumer {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: () => string;
  stop: () => void;
}

describe('a pending batch across members of the group', () => {
  const brokers = process.env.KAFKA_BROKERS!;
  const id = Date.now().toString(36);
  const topic = `across-${id}`;
  const group = `across-group-${id}`;
  const database = `across_${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-across-'));
  const kafka = new Kafka({ brokers: [brokers], clientId: 'across-test', logLevel: 0 });

  function startConsumer(env: Record<string, string>): Consumer {
    const child = spawn(process.execPath, [CLI, 'consumer'], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: brokers, KAFKA_TOPIC: topic, KAFKA_LOGS_TOPIC: `${topic}-logs`, KAFKA_GROUP_ID: group, KAFKA_SESSION_TIMEOUT: '6s', TRACEHOUSE_DATA_DIR: dataDir, ...clickhouseEnv(database), TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:0', BATCH_TIMEOUT: '1s', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    return { exited: new Promise((done) => child.once('exit', (code, signal) => done({ code, signal }))), log: () => log, stop: () => child.kill('SIGTERM') };
  }

  async function committed(): Promise<Array<{ partition: number; offset: string; metadata: string | null; end: string }>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => ({ ...p, end: ends.find((e) => e.partition === p.partition)!.high }));
    } finally {
      await admin.disconnect();
    }
  }

  before(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 2 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: generate(TRACES, 23).map((t, i) => ({ partition: i % 2, value: Buffer.from(encodeTracesProtobuf(t)) })) });
    await producer.disconnect();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the member holding one of its partitions rebuilds it whole, reading the other partition; the second rebuild is a dedup hit', async () => {
    const first = startConsumer({ TRACEHOUSE_FAILPOINTS: 'batch-before-insert:1' });
    assert.equal((await first.exited).signal, 'SIGKILL', `the failpoint fired:\n${first.log().slice(-2000)}`);
    const marked = await committed();
    const batch = parsePending(marked[0]!.metadata, 0);
    assert.deepEqual(batch?.map((r) => r.partition), [0, 1], `the dead consumer's batch held both partitions: ${JSON.stringify(marked)}`);
    assert.equal(marked[1]!.metadata, marked[0]!.metadata, 'both partitions hold the same marker');

    // A member that holds a partition and never commits: kafkajs reads nothing while paused.
    const idle = kafka.consumer({ groupId: group, sessionTimeout: 6000 });
    await idle.connect();
    await idle.subscribe({ topic });
    let idleHolds: number[] = [];
    idle.on(idle.events.GROUP_JOIN, (e) => (idleHolds = e.payload.memberAssignment[topic] ?? []));
    await idle.run({ autoCommit: false, eachBatch: async () => idle.pause([{ topic }]) });
    idle.pause([{ topic }]);

    const second = startConsumer({});
    let stoppedIdle = false;
    try {
      await waitFor(async () => idleHolds.length === 1 && /joined consumer group/.test(second.log()) && (await committed()).some((c) => c.offset === c.end), 60_000, 'the consumer to rebuild the batch and commit its partition').catch((err: Error) => {
        throw new Error(`${err.message} (the idle member holds ${JSON.stringify(idleHolds)}):\n${second.log().slice(-3000)}`);
      });
      const ownRebuild = /"msg":"rebuilding pending batch".*?"partitions":\[(\d+)\]/.exec(second.log());
      assert.ok(ownRebuild, `the consumer rebuilt the batch for one partition:\n${second.log().slice(-3000)}`);
      assert.notEqual(Number(ownRebuild[1]), idleHolds[0], 'it committed the partition it owns, not the idle member\'s');
      const idlePartition = (await committed())[idleHolds[0]!]!;
      assert.equal(idlePartition.metadata, marked[0]!.metadata, 'the idle member\'s partition still holds the marker');

      await idle.disconnect();
      stoppedIdle = true;
      await waitFor(async () => (await committed()).every((c) => c.offset === c.end && parsePending(c.metadata, c.partition) === null), 60_000, 'the whole topic committed');
      assert.equal(second.log().match(/"msg":"rebuilding pending batch"/g)?.length, 2, 'rebuilt once per partition it came to own');
    } finally {
      if (!stoppedIdle) await idle.disconnect();
      second.stop();
      await second.exited;
    }

    const ch = await openClickHouse(resolveConfig({}, clickhouseEnv(database)).exporters.clickhouse);
    try {
      const rows = (await (await ch.client.query({ query: `SELECT count() AS rows, uniqExact(span_id) AS spans FROM ${database}.spans_raw`, format: 'JSONEachRow' })).json())[0];
      assert.deepEqual(rows, { rows: String(SPANS), spans: String(SPANS) });
      const minute = (await (await ch.client.query({ query: `SELECT sum(calls) AS n FROM ${database}.spans_minute`, format: 'JSONEachRow' })).json())[0];
      assert.deepEqual(minute, { n: String(SPANS) }, 'the rollup, deduplicated with its table');
    } finally {
      await ch.close();
    }
  });
});
