// Kafka unavailable: the receiver never answers 200 for data Kafka did not take. It answers 503 +
// Retry-After; a real OTLP SDK client retries and succeeds once the broker is back, and every
// span it was told was accepted is in Kafka. Uses a broker of its own so it can stop it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { allExportsSucceeded, emitAgentRun, sdkClient } from '../harness/agent-traces.js';
import { type KafkaBroker, startKafkaBroker } from '../../services/stack/kafka-broker.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

for (const client of ['kafkajs', 'librdkafka'] as const) {
  describe(`receiver with the broker down (${client} producer)`, () => {
    let broker: KafkaBroker;
    let pipeline: TestPipeline;

    before(async () => {
      broker = await startKafkaBroker();
      pipeline = await startTestPipeline('receiver', testConfig({ exporters: { kafka: { timeout: '3s', client } } }, { KAFKA_BROKERS: broker.brokers }));
    });
    after(async () => {
      await pipeline?.stop();
      await broker?.destroy();
    });

    it('answers 503 + Retry-After while Kafka is unreachable, and a real SDK client retries until it succeeds', async () => {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
      emitAgentRun(provider.getTracer('t'), 0);
      const body = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!;
      const post = (): Promise<Response> => fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      assert.equal((await post()).status, 200, 'accepted while the broker is up');

      await broker.stop();
      const started = Date.now();
      const down = await post();
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '1');
      assert.ok(Date.now() - started < 8000, 'the client hears back before its own 10 s timeout');

      // A real SDK export while the broker is down: it gets 503s and retries with backoff.
      const client = sdkClient({ endpoint: pipeline.url, protocol: 'protobuf', gzip: true, resource: { 'service.name': 'retrying-agent' }, timeoutMillis: 60_000 });
      const traceId = emitAgentRun(client.tracer, 1);
      const flushed = client.flush();
      await new Promise((r) => setTimeout(r, 1500));
      await broker.start();
      await flushed;
      await client.shutdown();
      assert.ok(allExportsSucceeded(client), `export succeeded after retries: ${JSON.stringify(client.exportResults)}`);
      const metrics = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
      assert.match(metrics, /tracehouse_receiver_requests_total\{code="503"\} ([2-9]|\d\d)/, 'the SDK saw at least one more 503 before success');

      // Everything acknowledged is in Kafka.
      const kafka = new Kafka({ brokers: [broker.brokers], clientId: 'verify', logLevel: 0 });
      const consumer = kafka.consumer({ groupId: `verify-broker-down-${client}` });
      await consumer.connect();
      await consumer.subscribe({ topic: pipeline.config.exporters.kafka.topic, fromBeginning: true });
      const spanIds = new Set<string>();
      let retriedTraceSpans = 0;
      await consumer.run({
        eachMessage: async ({ message }) => {
          for (const rs of decodeTracesProtobuf(message.value!).data.resourceSpans)
            for (const ss of rs.scopeSpans)
              for (const span of ss.spans) {
                spanIds.add(span.spanId);
                if (span.traceId === traceId) retriedTraceSpans++;
              }
        },
      });
      try {
        // Partitions are read independently: wait for both requests, not only the one that came last.
        const firstRequest = memory.getFinishedSpans().map((span) => span.spanContext().spanId);
        await waitFor(async () => retriedTraceSpans >= 5 && firstRequest.every((id) => spanIds.has(id)), 20_000, 'both accepted requests in Kafka');
      } finally {
        await consumer.disconnect();
      }
      for (const span of memory.getFinishedSpans()) assert.ok(spanIds.has(span.spanContext().spanId), 'the first accepted request is in Kafka');
    });
  });
}
