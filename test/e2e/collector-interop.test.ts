// The consumer reads topics written by the OpenTelemetry Collector's kafka exporter: one message
// per export batch, nil key, any number of resources, encoding otlp_proto or otlp_json (chosen per
// topic). Payloads are produced with the reference serializer; a poison message goes to the DLQ.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { KafkaEncoding } from '../../services/receivers/kafka/config.js';
import { emitAgentRun, expectedRow, storedRowsSql } from '../harness/agent-traces.js';
import { readDeadLetters } from '../harness/dead-letters.js';
import { deadLetterTopic } from '../../services/receivers/kafka/kafka-source.js';
import { ConfigError } from '../../services/shared/config-error.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

/** Spans of two services (two resources), as one collector batch would carry them. */
function collectorBatch(tenant: string): ReadableSpan[] {
  const spans: ReadableSpan[] = [];
  for (const service of ['planner', 'executor']) {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'tenant.id': tenant, 'deployment.environment.name': 'prod' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    emitAgentRun(provider.getTracer('collector-fed'), 1);
    emitAgentRun(provider.getTracer('collector-fed'), 2);
    spans.push(...memory.getFinishedSpans());
  }
  return spans;
}

describe('consumer reads the OTel Collector kafka exporter layout', () => {
  const pipelines: TestPipeline[] = [];
  after(async () => {
    for (const p of pipelines) await p.stop();
  });

  for (const encoding of ['otlp_proto', 'otlp_json'] as KafkaEncoding[]) {
    it(`stores every span of nil-keyed multi-resource ${encoding} messages, and dead-letters a poison message`, async () => {
      const pipeline = await startTestPipeline('consumer', testConfig({ receivers: { kafka: { encoding } } }));
      pipelines.push(pipeline);
      const { topic } = pipeline.config.receivers.kafka;
      const tenant = `collector-${encoding}`;
      const spans = collectorBatch(tenant);
      const serializer = encoding === 'otlp_proto' ? ProtobufTraceSerializer : JsonTraceSerializer;
      const kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'fake-collector', logLevel: 0 });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        acks: 1,
        messages: [
          { key: null, partition: 0, value: Buffer.from(serializer.serializeRequest(spans.slice(0, 12))!) },
          { key: null, partition: 0, value: Buffer.from('\x0a\xff\xff\xff\x0fgarbage that is not OTLP') },
          { key: null, partition: 0, value: Buffer.from(serializer.serializeRequest(spans.slice(12))!) },
        ],
      });
      await producer.disconnect();

      const traceIds = [...new Set(spans.map((s) => s.spanContext().traceId))];
      const sql = storedRowsSql(pipeline.config.exporters.clickhouse.database);
      await waitFor(async () => (await pipeline.query(sql, { trace_ids: traceIds })).length >= spans.length, 30_000, 'collector spans in ClickHouse');
      const stored = await pipeline.query(sql, { trace_ids: traceIds });
      assert.equal(stored.length, spans.length);
      const bySpanId = new Map(stored.map((r) => [r.span_id as string, r]));
      for (const span of spans) {
        const want = expectedRow(span);
        const got = bySpanId.get(want.span_id as string)!;
        for (const [column, value] of Object.entries(want)) assert.deepEqual(got[column], value, `${want.operation}.${column}`);
        assert.equal(got.tenant_id, tenant);
        assert.equal(got.env, 'prod', 'deployment.environment.name maps to env');
      }
      assert.deepEqual([...new Set(stored.map((r) => r.service_name))].sort(), ['executor', 'planner']);

      // The poison message went to the dead-letter topic with its reason and origin; the partition moved on.
      const dead = await readDeadLetters(kafka, topic);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!['x-source-topic'], topic);
      assert.equal(dead[0]!['x-source-offset'], '1');
      assert.ok(dead[0]!['x-tracehouse-error']!.length > 0);
      const metrics = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
      assert.match(metrics, /tracehouse_consumer_dead_letter_total\{stage="decode"\} 1\n/);
      assert.equal(dead[0]!['x-tracehouse-stage'], 'decode');
    });
  }

  it('a consumer set to otlp_proto on a topic of otlp_json stops once with a hint naming KAFKA_ENCODING, dead-lettering and committing nothing', async () => {
    const pipeline = await startTestPipeline('consumer', testConfig({ receivers: { kafka: { encoding: 'otlp_proto' } } }));
    pipelines.push(pipeline);
    const { topic, groupId } = pipeline.config.receivers.kafka;
    const kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'fake-collector', logLevel: 0 });
    const producer = kafka.producer();
    await producer.connect();
    const spans = collectorBatch('wrong-encoding');
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: null, partition: i % 3, value: Buffer.from(JsonTraceSerializer.serializeRequest(spans.slice(0, 4))!) })) });
    await producer.disconnect();

    const failure = await Promise.race([pipeline.app.failed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the consumer did not stop')), 30_000))]);
    assert.ok(failure instanceof ConfigError);
    assert.match(failure.message, /the traces topic holds otlp_json messages but receivers\.kafka\.encoding \(KAFKA_ENCODING\) is otlp_proto: set KAFKA_ENCODING=otlp_json/);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const dlq = await admin.fetchTopicOffsets(deadLetterTopic(topic));
      assert.ok(dlq.every((p) => p.high === '0'), `dead letters: ${JSON.stringify(dlq)}`);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.ok(committed!.partitions.every((p) => p.offset === '-1'), `committed: ${JSON.stringify(committed)}`);
    } finally {
      await admin.disconnect();
    }
  });
});
