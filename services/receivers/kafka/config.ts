// receivers.kafka: the spans topic the consumer group reads, in which encoding.
import type { Section } from '../../shared/config.js';
import { type KafkaConnection, parseKafkaConnection } from '../../shared/kafka.js';

/** otlp_json for topics a Collector's kafka exporter wrote with that encoding; Tracehouse writes otlp_proto. */
export type KafkaEncoding = 'otlp_proto' | 'otlp_json';
export const KAFKA_ENCODINGS: readonly KafkaEncoding[] = ['otlp_proto', 'otlp_json'];

export interface KafkaReceiverConfig extends KafkaConnection {
  topic: string;
  encoding: KafkaEncoding;
  groupId: string;
  /** Consumer group session timeout: how long a dead member holds its partitions. */
  sessionTimeoutMs: number;
}

export function parseKafkaReceiverConfig(section: Section): KafkaReceiverConfig {
  const sessionTimeoutMs = section.duration('session_timeout', 30_000, 'KAFKA_SESSION_TIMEOUT');
  // Brokers refuse a session timeout under group.min.session.timeout.ms (6 s by default).
  if (sessionTimeoutMs < 6000) section.fail('session_timeout', "must be at least 6s (the broker's group.min.session.timeout.ms)", 'KAFKA_SESSION_TIMEOUT');
  return {
    ...parseKafkaConnection(section),
    topic: section.str('topic', 'otel-spans', 'KAFKA_TOPIC'),
    encoding: section.oneOf('encoding', KAFKA_ENCODINGS, 'otlp_proto', 'KAFKA_ENCODING'),
    groupId: section.str('group_id', 'tracehouse-consumer', 'KAFKA_GROUP_ID'),
    sessionTimeoutMs,
  };
}
