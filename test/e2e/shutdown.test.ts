// SIGTERM: the consumer stops reading, flushes the batch it holds, commits and exits 0; the
// receiver stops taking connections, answers the requests in flight once Kafka has them, and exits 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { prebuildRequests } from '../../bench/workload.js';
import { openClickHouse } from '../../services/shared/clickhouse/client.js';
import { resolveConfig } from '../../services/config.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { generate } from '../harness/generated-traces.js';
import { freePort } from '../../services/shared/ports.js';
import { clickhouseEnv, waitFor } from '../harness/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const brokers = process.env.KAFKA_BROKERS!;
const kafka = new Kafka({ brokers: [brokers], clientId: 'shutdown-test', logLevel: 0 });

const children: ChildProcess[] = [];
// A failed assertion must not leave a service running: the test file would never end.
after(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));

/** True once the service's admin endpoint answers (it listens only after every component started). */
const answers = (url: string): Promise<boolean> => fetch(url).then((r) => r.ok, () => false);

function start(command: string, env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, command], { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS: brokers, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function offsets(topic: string, group?: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (group === undefined) return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.high);
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  } finally {
    await admin.disconnect();
  }
}

describe('clean shutdown on SIGTERM', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('consumer: flushes the batch it holds, commits, exits 0', async () => {
    const id = Date.now().toString(36);
    const topic = `term-${id}`;
    const group = `term-group-${id}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-term-'));
    dirs.push(dataDir);
    const adminPort = await freePort();
    // A batch that never fills and never times out on its own: only SIGTERM can flush it.
    const database = `term_${id}`;
    const consumer = start('consumer', { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: group, TRACEHOUSE_DATA_DIR: dataDir, ...clickhouseEnv(database), TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${adminPort}`, BATCH_MAX_ROWS: '1000000', BATCH_TIMEOUT: '10m' });
    await waitFor(() => answers(`http://127.0.0.1:${adminPort}/readyz`), 60_000, 'consumer ready');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: generate(20, 5).map((t) => ({ value: Buffer.from(encodeTracesProtobuf(t)) })) });
    await producer.disconnect();
    await waitFor(async () => /tracehouse_consumer_messages_total 20\n/.test(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()), 30_000, 'all 20 messages read');
    const ends = await offsets(topic);
    assert.notDeepEqual(await offsets(topic, group), ends, 'nothing committed before SIGTERM');

    consumer.child.kill('SIGTERM');
    assert.equal(await consumer.exited, 0, consumer.output().slice(-2000));
    assert.deepEqual(await offsets(topic, group), ends, 'everything read was committed');
    const ch = await openClickHouse(resolveConfig({}, clickhouseEnv(database)).exporters.clickhouse);
    try {
      const [row] = await (await ch.client.query({ query: `SELECT count() AS n FROM ${database}.spans_raw`, format: 'JSONEachRow' })).json<{ n: string }>();
      assert.equal(row!.n, '200');
    } finally {
      await ch.close();
    }
  });

  it('receiver: answers the requests in flight once Kafka has them, then exits 0', async () => {
    const topic = `term-rx-${Date.now().toString(36)}`;
    const port = await freePort();
    const receiver = start('receiver', { KAFKA_TOPIC: topic, OTLP_HTTP_ENDPOINT: `127.0.0.1:${port}`, OTLP_GRPC_ENDPOINT: '127.0.0.1:0', TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:0' });
    await waitFor(async () => receiver.output().includes('otlp http receiver listening'), 60_000, 'receiver listening');
    const requests = prebuildRequests({ count: 4, spansPerRequest: 4000, encoding: 'protobuf', gzip: false });
    let answeredAfterSigterm = 0;
    let sigtermSent = false;
    const results = requests.map((r) =>
      fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', body: r.body, headers: { 'content-type': 'application/x-protobuf' } }).then(
        (res) => {
          if (sigtermSent) answeredAfterSigterm++;
          return { status: res.status, spans: r.spans };
        },
        () => ({ status: 0, spans: 0 }),
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    sigtermSent = true;
    receiver.child.kill('SIGTERM');
    const answers = await Promise.all(results);
    assert.equal(await receiver.exited, 0, receiver.output().slice(-2000));
    assert.ok(answeredAfterSigterm > 0, 'some requests were in flight when SIGTERM arrived');
    for (const a of answers) assert.ok(a.status === 200 || a.status === 0, `in-flight requests are answered 200, got ${a.status}`);
    const accepted = answers.reduce((n, a) => n + a.spans, 0);
    assert.ok(accepted > 0);

    // Every span acknowledged is in Kafka.
    const consumer = kafka.consumer({ groupId: `verify-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let inKafka = 0;
    await consumer.run({ eachMessage: async ({ message }) => void (inKafka += decodeTracesProtobuf(message.value!).spanCount) });
    try {
      await waitFor(async () => inKafka >= accepted, 20_000, 'acknowledged spans in Kafka');
    } finally {
      await consumer.disconnect();
    }
    assert.equal(inKafka, accepted);
  });
});
