// exporters.kafka: the spans and logs topics the receiver writes (created with topic_partitions when
// absent), the acks=all deadline, the producer client, how long it lingers to batch and how it
// compresses record batches.
import type { Section } from '../../shared/config.js';
import { type KafkaConnection, parseKafkaConnection } from '../../shared/kafka.js';

export type ProducerClient = 'kafkajs' | 'librdkafka';
/** `auto`: librdkafka when its package loads, else kafkajs (producers.ts). */
export type ProducerClientChoice = ProducerClient | 'auto';
/** Record batch compression, the Collector's `producer.compression` values. */
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface KafkaExporterConfig extends KafkaConnection {
  topic: string;
  /** Where log records go (`logs.topic`, as the Collector's kafka exporter names it). */
  logsTopic: string;
  partitions: number;
  produceTimeoutMs: number;
  /** The receiver's producer (producers.ts); the consumer always uses kafkajs. */
  producerClient: ProducerClientChoice;
  /**
   * How long librdkafka waits to gather messages of concurrent requests into one produce request
   * (`producer.linger`, the Collector's name; its default is 10 ms). kafkajs sends each request's
   * messages as one produce request at once.
   */
  lingerMs: number;
  /**
   * `producer.compression` (the Collector's default is none; ours lz4: a sixth of the bytes on the
   * topic for about the same CPU: README, Benchmark). The consumer reads every one (shared/kafka-codecs.ts).
   */
  compression: Compression;
  /** Messages written per trace with the lowercase hex trace id as key (the Collector's partition_traces_by_id). */
  partitionTracesById: boolean;
}

export function parseKafkaExporterConfig(section: Section): KafkaExporterConfig {
  if (section.str('encoding', 'otlp_proto') !== 'otlp_proto') section.fail('encoding', 'must be otlp_proto: the receiver writes otlp_proto only');
  const produceTimeoutMs = section.duration('timeout', 5000, undefined, { positive: true });
  const producer = section.child('producer');
  const lingerMs = producer.duration('linger', 5, 'KAFKA_PRODUCER_LINGER');
  // librdkafka refuses a linger that the message timeout does not outlast.
  if (lingerMs >= produceTimeoutMs) producer.fail('linger', `must be less than exporters.kafka.timeout (${produceTimeoutMs} ms), got ${lingerMs} ms`, 'KAFKA_PRODUCER_LINGER');
  return {
    ...parseKafkaConnection(section),
    topic: section.str('topic', 'otel-spans', 'KAFKA_TOPIC'),
    logsTopic: section.child('logs').str('topic', 'otel-logs', 'KAFKA_LOGS_TOPIC'),
    partitions: section.int('topic_partitions', 3, 'KAFKA_TOPIC_PARTITIONS', 1),
    produceTimeoutMs,
    producerClient: section.oneOf('client', ['auto', 'kafkajs', 'librdkafka'] as const, 'auto', 'KAFKA_PRODUCER_CLIENT'),
    lingerMs,
    compression: producer.oneOf('compression', COMPRESSIONS, 'lz4', 'KAFKA_PRODUCER_COMPRESSION'),
    partitionTracesById: section.bool('partition_traces_by_id', true),
  };
}
