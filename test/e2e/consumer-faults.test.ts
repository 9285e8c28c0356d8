// Consumer faults against the real broker and engine, in this process:
// - ClickHouse refusing inserts for a while (TOO_MANY_PARTS, forced with max_parts_in_total): the
//   consumer retries with backoff, commits nothing meanwhile, and recovers with nothing lost or doubled;
// - rows ClickHouse rejects (a CHECK constraint): only that message goes to the dead-letter topic,
//   with stage and reason in headers, and the partition moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { generate, kv } from '../harness/generated-traces.js';
import { readDeadLetters } from '../harness/dead-letters.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

describe('consumer faults', () => {
  let pipeline: TestPipeline;
  let kafka: Kafka;
  let topic: string;
  let nextTrace = 0;

  async function produce(traces: number, partition = 0, mutate?: (t: ReturnType<typeof generate>[number], i: number) => void): Promise<string[]> {
    const batch = generate(traces, 21 + nextTrace, 100_000 + nextTrace);
    nextTrace += traces;
    batch.forEach((t, i) => mutate?.(t, i));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: batch.map((t) => ({ partition, value: Buffer.from(encodeTracesProtobuf(t)) })) });
    await producer.disconnect();
    return batch.map((t) => t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId);
  }

  async function stored(traceIds: string[]): Promise<number> {
    const [row] = await pipeline.query<{ n: string }>('SELECT count() AS n FROM telemetry.spans_raw WHERE has({ids: Array(String)}, trace_id)', { ids: traceIds });
    return Number(row!.n);
  }

  async function committed(partition: number): Promise<string> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: pipeline.config.receivers.kafka.groupId, topics: [topic] });
      return t!.partitions.find((p) => p.partition === partition)!.offset;
    } finally {
      await admin.disconnect();
    }
  }

  async function metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
  }

  before(async () => {
    pipeline = await startTestPipeline('consumer', testConfig({ processors: { batch: { send_batch_size: 10_000, timeout: '200ms' } } }));
    topic = pipeline.config.exporters.kafka.topic;
    kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'faults-test', logLevel: 0 });
  });
  after(async () => pipeline?.stop());

  it('retries while ClickHouse refuses inserts, commits nothing meanwhile, then recovers exactly once', async () => {
    const first = await produce(5);
    await waitFor(async () => (await stored(first)) === 50, 30_000, 'the first traces');
    const offsetBefore = await committed(0);
    await pipeline.query('SELECT 1'); // the engine is up; now make every INSERT fail
    await pipeline.app.clickhouse!.client.command({ query: 'ALTER TABLE telemetry.spans_raw MODIFY SETTING max_parts_in_total = 1' });
    try {
      const second = await produce(5);
      await waitFor(async () => /tracehouse_consumer_insert_retries_total [3-9]|tracehouse_consumer_insert_retries_total \d\d/.test(await metrics()), 30_000, 'insert retries');
      assert.equal(await stored(second), 0, 'nothing of the second batch was stored');
      assert.equal(await committed(0), offsetBefore, 'no offset committed while inserts fail');
      await pipeline.app.clickhouse!.client.command({ query: 'ALTER TABLE telemetry.spans_raw RESET SETTING max_parts_in_total' });
      await waitFor(async () => (await stored(second)) === 50, 30_000, 'the second traces after recovery');
      await waitFor(async () => (await committed(0)) === String(BigInt(offsetBefore) + 5n), 10_000, 'the commit after recovery');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await stored([...first, ...second]), 100, 'each span once');
      const [rollup] = await pipeline.query<{ n: string }>('SELECT sum(calls) AS n FROM telemetry.spans_minute');
      const [raw] = await pipeline.query<{ n: string }>('SELECT count() AS n FROM telemetry.spans_raw');
      assert.equal(rollup!.n, raw!.n, 'the rollup counted each span once');
    } finally {
      await pipeline.app.clickhouse!.client.command({ query: 'ALTER TABLE telemetry.spans_raw RESET SETTING max_parts_in_total' });
    }
  });

  it('sends a message whose rows ClickHouse rejects to the dead-letter topic and keeps the rest', async () => {
    await pipeline.app.clickhouse!.client.command({ query: "ALTER TABLE telemetry.spans_raw ADD CONSTRAINT no_poison CHECK service_name != 'poison-service'" });
    try {
      const ids = await produce(3, 1, (t, i) => {
        if (i === 1) t.resourceSpans[0]!.resource.attributes = [kv('service.name', 'poison-service'), kv('tenant.id', 'tenant-0')];
      });
      await waitFor(async () => (await stored([ids[0]!, ids[2]!])) === 20, 30_000, 'the good traces');
      assert.equal(await stored([ids[1]!]), 0);
      const dead = await readDeadLetters(kafka, topic);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!['x-tracehouse-stage'], 'clickhouse');
      assert.equal(dead[0]!['x-source-partition'], '1');
      assert.match(dead[0]!['x-tracehouse-error']!, /no_poison/);
      assert.match(await metrics(), /tracehouse_consumer_dead_letter_total\{stage="clickhouse"\} 1\n/);
      await waitFor(async () => (await committed(1)) === '3', 10_000, 'the partition moved past the poison message');
    } finally {
      await pipeline.app.clickhouse!.client.command({ query: 'ALTER TABLE telemetry.spans_raw DROP CONSTRAINT no_poison' });
    }
  });
});
