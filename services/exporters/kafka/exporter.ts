// Kafka stage: OTLP protobuf (TracesData) to the spans topic with acks=all. Layout matches the
// OTel Collector kafka exporter with partition_traces_by_id: one message per trace, key = hex trace id.
// The producer client (kafkajs or librdkafka) is behind producers.ts.
import type { Kafka } from 'kafkajs';
import type { KafkaExporterConfig } from './config.js';
import { ensureTopic } from '../../shared/kafka.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import { type TracesData, countSpans } from '../../otlp/model.js';
import { encodeTracesProtobuf } from '../../otlp/protobuf.js';
import { asBuffer } from '../../otlp/wire.js';
import { RetryableError, isPermanent } from '../../shared/errors.js';
import type { Component, EncodedTracesConsumer, TracesConsumer } from '../../component/component.js';
import { splitByTrace } from '../../otlp/split.js';
import type { EncodedTrace } from '../../otlp/split.js';
import { type ProducerMessage, type SpanProducer, createSpanProducer } from './producers.js';

/** Collector kafka exporter default producer.max_message_bytes. */
export const MAX_MESSAGE_BYTES = 1_000_000;

export class KafkaExporter implements TracesConsumer, Component {
  /** The protobuf fast path's per-trace messages, as they are (partition_traces_by_id only). */
  readonly encoded: EncodedTracesConsumer | undefined;
  private producer: SpanProducer | undefined;
  private readonly produceSeconds;
  private readonly messagesProduced;
  private readonly produceFailures;

  constructor(
    private readonly kafka: Kafka,
    private readonly cfg: KafkaExporterConfig,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.produceSeconds = registry.histogram('tracehouse_kafka_produce_seconds', 'Latency of one acknowledged produce (acks=all).');
    this.messagesProduced = registry.counter('tracehouse_kafka_messages_produced_total', 'Messages acknowledged by Kafka.');
    this.produceFailures = registry.counter('tracehouse_kafka_produce_failures_total', 'Produce calls that failed or timed out.');
    this.encoded = cfg.partitionTracesById
      ? {
          maxTraceBytes: MAX_MESSAGE_BYTES,
          consume: (traces: EncodedTrace[]) => this.send(traces.map((t) => ({ key: t.traceId, value: asBuffer(t.bytes) }))),
        }
      : undefined;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(admin, this.cfg.topic, this.cfg.partitions, this.log);
    } finally {
      await admin.disconnect();
    }
    this.producer = await createSpanProducer(this.kafka, this.cfg, this.log);
    await this.producer.connect();
    this.log.info('kafka producer connected', { client: this.cfg.producerClient });
  }

  ready(): boolean {
    return this.producer?.connected() ?? false;
  }

  async consumeTraces(data: TracesData): Promise<void> {
    await this.send(this.toMessages(data));
  }

  private async send(messages: ProducerMessage[]): Promise<void> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RetryableError(`kafka produce timed out after ${this.cfg.produceTimeoutMs} ms`)), this.cfg.produceTimeoutMs);
    });
    try {
      await Promise.race([this.producer!.send(this.cfg.topic, messages), deadline]);
    } catch (err) {
      this.produceFailures.inc();
      if (isPermanent(err) || err instanceof RetryableError) throw err;
      throw new RetryableError(`kafka produce failed: ${(err as Error).message}`, 1, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    this.produceSeconds.observe({}, (performance.now() - started) / 1000);
    this.messagesProduced.inc({}, messages.length);
  }

  /** One message per trace; a trace too large for one message is split by spans, keeping its key. */
  private toMessages(data: TracesData): ProducerMessage[] {
    if (!this.cfg.partitionTracesById) return this.encodeFitting(null, data);
    const messages: ProducerMessage[] = [];
    for (const [traceId, trace] of splitByTrace(data)) messages.push(...this.encodeFitting(traceId, trace));
    return messages;
  }

  private encodeFitting(key: string | null, data: TracesData): ProducerMessage[] {
    const value = asBuffer(encodeTracesProtobuf(data));
    if (value.length <= MAX_MESSAGE_BYTES || countSpans(data) <= 1) return [{ key, value }];
    const [a, b] = halve(data);
    return [...this.encodeFitting(key, a), ...this.encodeFitting(key, b)];
  }

  async shutdown(): Promise<void> {
    await this.producer?.disconnect();
  }
}

/** Splits the spans of a TracesData into two halves of (nearly) equal count. */
function halve(data: TracesData): [TracesData, TracesData] {
  const half = Math.floor(countSpans(data) / 2);
  const first: TracesData = { resourceSpans: [] };
  const second: TracesData = { resourceSpans: [] };
  let seen = 0;
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      const cut = Math.max(0, Math.min(ss.spans.length, half - seen));
      seen += ss.spans.length;
      for (const [target, spans] of [[first, ss.spans.slice(0, cut)], [second, ss.spans.slice(cut)]] as const) {
        if (spans.length > 0) target.resourceSpans.push({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [{ ...ss, spans }] });
      }
    }
  }
  return [first, second];
}
