// Kafka stage: OTLP protobuf to Kafka with acks=all, in the OTel Collector kafka exporter's layout:
// TracesData to the spans topic, one message per trace with key = hex trace id
// (partition_traces_by_id); LogsData to the logs topic, one message per request without a key (its
// default). A message over the Collector's 1 MB default is split in two until it fits. The producer
// client (kafkajs or librdkafka) is behind producers.ts.
import type { Kafka } from 'kafkajs';
import type { KafkaExporterConfig } from './config.js';
import { ensureTopic } from '../../shared/kafka.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import { type LogsData, type TracesData, countLogRecords, countSpans } from '../../otlp/model.js';
import { encodeLogsProtobuf, encodeTracesProtobuf } from '../../otlp/protobuf.js';
import { asBuffer } from '../../otlp/wire.js';
import { RetryableError, isPermanent } from '../../shared/errors.js';
import type { Component, EncodedTracesConsumer, LogsConsumer, TracesConsumer } from '../../component/component.js';
import { halveLogs, halveTraces, splitByTrace } from '../../otlp/split.js';
import type { EncodedTrace } from '../../otlp/split.js';
import { type ProducerMessage, type SpanProducer, createSpanProducer } from './producers.js';

/** Collector kafka exporter default producer.max_message_bytes. */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** How a signal's data is written and, when too large for one message, cut. */
interface MessageCodec<D> {
  encode(data: D): Uint8Array;
  count(data: D): number;
  halve(data: D): [D, D];
}

const TRACES: MessageCodec<TracesData> = { encode: encodeTracesProtobuf, count: countSpans, halve: halveTraces };
const LOGS: MessageCodec<LogsData> = { encode: encodeLogsProtobuf, count: countLogRecords, halve: halveLogs };

export class KafkaExporter implements TracesConsumer, LogsConsumer, Component {
  /** The protobuf fast path's per-trace messages, as they are (partition_traces_by_id only). */
  readonly encoded: EncodedTracesConsumer | undefined;
  private producer: SpanProducer | undefined;
  private readonly produceSeconds;
  private readonly messagesProduced;
  private readonly produceFailures;
  private readonly producerClient;

  constructor(
    private readonly kafka: Kafka,
    private readonly cfg: KafkaExporterConfig,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.produceSeconds = registry.histogram('tracehouse_kafka_produce_seconds', 'Latency of one acknowledged produce (acks=all).');
    this.messagesProduced = registry.counter('tracehouse_kafka_messages_produced_total', 'Messages acknowledged by Kafka.');
    this.produceFailures = registry.counter('tracehouse_kafka_produce_failures_total', 'Produce calls that failed or timed out.');
    this.producerClient = registry.gauge('tracehouse_kafka_producer_info', 'The producer client in use (exporters.kafka.client, auto resolved): 1 for it.');
    this.encoded = cfg.partitionTracesById
      ? {
          maxTraceBytes: MAX_MESSAGE_BYTES,
          consume: (traces: EncodedTrace[]) => this.send(this.cfg.topic, traces.map((t) => ({ key: t.traceId, value: asBuffer(t.bytes) }))),
        }
      : undefined;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const topic of new Set([this.cfg.topic, this.cfg.logsTopic])) await ensureTopic(admin, topic, this.cfg.partitions, this.log);
    } finally {
      await admin.disconnect();
    }
    this.producer = await createSpanProducer(this.kafka, this.cfg, this.log);
    await this.producer.connect();
    this.producerClient.set({ client: this.producer.client }, 1);
    this.log.info('kafka producer connected', { client: this.producer.client, linger_ms: this.producer.client === 'librdkafka' ? this.cfg.lingerMs : undefined });
  }

  ready(): boolean {
    return this.producer?.connected() ?? false;
  }

  async consumeTraces(data: TracesData): Promise<void> {
    await this.send(this.cfg.topic, this.toMessages(data));
  }

  async consumeLogs(data: LogsData): Promise<void> {
    await this.send(this.cfg.logsTopic, fitting(null, data, LOGS));
  }

  private async send(topic: string, messages: ProducerMessage[]): Promise<void> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RetryableError(`kafka produce timed out after ${this.cfg.produceTimeoutMs} ms`)), this.cfg.produceTimeoutMs);
    });
    try {
      await Promise.race([this.producer!.send(topic, messages), deadline]);
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
    if (!this.cfg.partitionTracesById) return fitting(null, data, TRACES);
    const messages: ProducerMessage[] = [];
    for (const [traceId, trace] of splitByTrace(data)) messages.push(...fitting(traceId, trace, TRACES));
    return messages;
  }

  async shutdown(): Promise<void> {
    await this.producer?.disconnect();
  }
}

/** `data` as one message, or halves of it until each fits (a single span or record goes as it is). */
function fitting<D>(key: string | null, data: D, codec: MessageCodec<D>): ProducerMessage[] {
  const value = asBuffer(codec.encode(data));
  if (value.length <= MAX_MESSAGE_BYTES || codec.count(data) <= 1) return [{ key, value }];
  const [a, b] = codec.halve(data);
  return [...fitting(key, a, codec), ...fitting(key, b, codec)];
}
