// The receiver's two producer clients (exporters/kafka/producers.ts) against the real broker: a trace
// id lands on the same partition whichever client wrote it (both murmur2, as the Java client), spans
// from a real SDK reach ClickHouse through the librdkafka producer, and with either client a span
// larger than a Kafka message is answered 413 without stopping the receiver; `auto` picks librdkafka
// when it loads and says so when it falls back to kafkajs; the consumer reads batches written with
// every compression either client writes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs, { Kafka } from 'kafkajs';
import { COMPRESSIONS, type Compression } from '../../services/exporters/kafka/config.js';
import { KafkaExporter } from '../../services/exporters/kafka/exporter.js';
import { createSpanProducer } from '../../services/exporters/kafka/producers.js';
import { createKafka } from '../../services/shared/kafka.js';
import { type Logger, createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { allExportsSucceeded, emitAgentRun, sdkClient } from '../harness/agent-traces.js';
import { generate } from '../harness/generated-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

describe('Kafka producer clients', () => {
  let pipeline: TestPipeline;

  before(async () => {
    pipeline = await startTestPipeline('all', testConfig({ exporters: { kafka: { client: 'librdkafka' } } }));
  });
  after(async () => {
    await pipeline?.stop();
  });

  it('stores every span a real SDK sends through the librdkafka producer', async () => {
    const client = sdkClient({ endpoint: pipeline.url, protocol: 'protobuf', gzip: false, resource: { 'service.name': 'librdkafka-agent', 'tenant.id': 'librdkafka' } });
    const traceIds = [0, 1, 2].map((run) => emitAgentRun(client.tracer, run));
    await client.flush();
    // Counted before shutdown, which empties the SDK's in-memory copy.
    const sent = client.finished().length;
    await client.shutdown();
    assert.ok(allExportsSucceeded(client));
    assert.ok(sent >= 15, `${sent} spans sent`);
    await waitFor(async () => {
      const [row] = await pipeline.query<{ n: string }>("SELECT count() AS n FROM telemetry.spans_raw WHERE tenant_id = 'librdkafka'");
      return Number(row!.n) === sent;
    }, 30_000, `${sent} spans in ClickHouse`);
    const stored = await pipeline.query<{ trace_id: string }>("SELECT DISTINCT trace_id FROM telemetry.spans_raw WHERE tenant_id = 'librdkafka' ORDER BY trace_id");
    assert.deepEqual(stored.map((r) => r.trace_id), [...traceIds].sort());
  });

  it('puts a trace id on the same partition with kafkajs and librdkafka', async () => {
    const config = testConfig();
    const log = createLogger('test', 50);
    const kafka = createKafka(config.kafka.brokers, 'partition-check', log);
    const traces = generate(40, 11);
    for (const producerClient of ['kafkajs', 'librdkafka'] as const) {
      const exporter = new KafkaExporter(kafka, { ...config.exporters.kafka, producerClient }, new Registry(), log);
      await exporter.start();
      for (const trace of traces) await exporter.consumeTraces(trace);
      await exporter.shutdown();
    }
    const partitionsByKey = new Map<string, Set<number>>();
    let messages = 0;
    const consumer = new Kafka({ brokers: config.kafka.brokers, clientId: 'verify', logLevel: 0 }).consumer({ groupId: `verify-${config.exporters.kafka.topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic: config.exporters.kafka.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key!.toString();
        partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(partition));
        messages++;
      },
    });
    try {
      await waitFor(async () => messages >= 2 * traces.length, 20_000, 'both clients\' messages');
    } finally {
      await consumer.disconnect();
    }
    assert.equal(partitionsByKey.size, traces.length);
    for (const [key, partitions] of partitionsByKey) assert.equal(partitions.size, 1, `trace ${key} on partitions ${[...partitions]}`);
    assert.ok(new Set([...partitionsByKey.values()].map((p) => [...p][0])).size > 1, 'traces spread over several partitions');
  });

  it('resolves client auto to librdkafka when it loads, else to kafkajs with a warning; librdkafka by name fails instead', async () => {
    const config = testConfig().exporters.kafka;
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const log: Logger = { ...createLogger('test', 50), warn: (msg, fields) => warnings.push([msg, fields]) };
    const kafka = createKafka(config.brokers, 'auto-check', log);
    const missing = async () => new Error('Cannot find module @confluentinc/kafka-javascript');
    assert.equal((await createSpanProducer(kafka, { ...config, producerClient: 'auto' }, log)).client, 'librdkafka');
    assert.equal(warnings.length, 0);
    assert.equal((await createSpanProducer(kafka, { ...config, producerClient: 'auto' }, log, missing)).client, 'kafkajs');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]![0], /librdkafka unavailable, producing with kafkajs/);
    assert.match(String(warnings[0]![1]?.reason), /native-client\.sh.*Cannot find module/);
    await assert.rejects(createSpanProducer(kafka, { ...config, producerClient: 'librdkafka' }, log, missing), /exporters\.kafka\.client is librdkafka but .*Cannot find module/);
    assert.equal((await createSpanProducer(kafka, { ...config, producerClient: 'kafkajs' }, log, missing)).client, 'kafkajs');
  });

  it('stores every span of batches written with each compression by either client; kafkajs refuses to write zstd', async () => {
    const log = createLogger('test', 50);
    const kafka = createKafka(pipeline.config.kafka.brokers, 'compression-check', log);
    // Count the consumer's decompressions per codec (the pipeline runs in this process).
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    const codecs = [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD] as const;
    const decompressed = new Map<number, number>();
    const registered = codecs.map((type) => CompressionCodecs[type]);
    for (const type of codecs) {
      const codec = CompressionCodecs[type]();
      CompressionCodecs[type] = () => ({
        ...codec,
        decompress: (b: Buffer) => {
          decompressed.set(type, (decompressed.get(type) ?? 0) + 1);
          return codec.decompress(b);
        },
      });
    }
    const cases: Array<readonly ['kafkajs' | 'librdkafka', Compression]> = [...COMPRESSIONS.map((c) => ['librdkafka', c] as const), ...(['none', 'gzip', 'snappy', 'lz4'] as const).map((c) => ['kafkajs', c] as const)];
    const traceIds = new Map<string, string[]>();
    for (const [i, [producerClient, compression]] of cases.entries()) {
      const traces = generate(8, 3, 10_000 + i * 100);
      const exporter = new KafkaExporter(kafka, { ...pipeline.config.exporters.kafka, producerClient, compression }, new Registry(), log);
      await exporter.start();
      try {
        for (const trace of traces) await exporter.consumeTraces(trace);
      } catch (err) {
        assert.fail(`${producerClient} with ${compression}: ${(err as Error).message}`);
      } finally {
        await exporter.shutdown();
      }
      traceIds.set(`${producerClient}/${compression}`, [...new Set(traces.flatMap((t) => t.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.traceId)))))]);
    }
    const spans = (ids: string[]) => pipeline.query<{ n: string }>('SELECT count() AS n FROM telemetry.spans_raw WHERE trace_id IN {ids:Array(String)}', { ids }).then((r) => Number(r[0]!.n));
    await waitFor(async () => (await Promise.all([...traceIds.values()].map(spans))).every((n) => n === 8 * 10), 30_000, 'every case stored');
    for (const type of codecs) assert.ok((decompressed.get(type) ?? 0) > 0, `the consumer decompressed codec ${type}`);
    codecs.forEach((type, i) => (CompressionCodecs[type] = registered[i]!));
    await assert.rejects(createSpanProducer(kafka, { ...pipeline.config.exporters.kafka, producerClient: 'kafkajs', compression: 'zstd' }, log), /exporters\.kafka\.producer\.compression zstd needs the librdkafka client, kafkajs cannot write it: exporters\.kafka\.client is kafkajs/);
    const missing = async () => new Error('Cannot find module @confluentinc/kafka-javascript');
    await assert.rejects(createSpanProducer(kafka, { ...pipeline.config.exporters.kafka, producerClient: 'auto', compression: 'zstd' }, log, missing), /compression zstd needs the librdkafka client.*Cannot find module/);
  });

  for (const producerClient of ['kafkajs', 'librdkafka'] as const) {
    it(`answers 413 for a span larger than a Kafka message, and keeps serving (${producerClient})`, async () => {
      const receiver = await startTestPipeline('receiver', testConfig({ receivers: { otlp: { limits: { max_attribute_value_bytes: 4 * 1024 * 1024 } } }, exporters: { kafka: { client: producerClient } } }));
      try {
        // Incompressible: the broker's limit is on the compressed batch (lz4 by default).
        const big = { key: 'gen_ai.prompt', value: { stringValue: randomBytes(1_200_000).toString('base64') } };
        const body = (attributes: object[]) =>
          JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'llm', startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n), attributes }] }] }] });
        const post = (text: string) => fetch(`${receiver.url}/v1/traces`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
        const refused = await post(body([big]));
        assert.equal(refused.status, 413);
        assert.match(await refused.text(), /larger than the Kafka message limit/);
        assert.equal((await post(body([]))).status, 200);
      } finally {
        await receiver.stop();
      }
    });
  }
});
