// receivers.kafka: the spans and logs topics the consumer groups read, in which encoding.
import type { Section } from '../../shared/config.js';
import { type KafkaConnection, parseKafkaConnection } from '../../shared/kafka.js';

/** otlp_json for topics a Collector's kafka exporter wrote with that encoding; Tracehouse writes otlp_proto. */
export type KafkaEncoding = 'otlp_proto' | 'otlp_json';
export const KAFKA_ENCODINGS: readonly KafkaEncoding[] = ['otlp_proto', 'otlp_json'];

/** One signal's topic and the consumer group that reads it. */
export interface TopicSubscription {
  topic: string;
  encoding: KafkaEncoding;
  groupId: string;
}

export interface KafkaReceiverConfig extends KafkaConnection, TopicSubscription {
  /**
   * The logs topic (`logs.topic` etc., as the Collector's kafka receiver names them). Its group is
   * its own (`<group_id>-logs`): kafkajs' assigners hand every member partitions of every topic
   * the group reads, whatever the member subscribed to.
   */
  logs: TopicSubscription;
  /** Consumer group session timeout: how long a dead member holds its partitions. */
  sessionTimeoutMs: number;
}

export function parseKafkaReceiverConfig(section: Section): KafkaReceiverConfig {
  const sessionTimeoutMs = section.duration('session_timeout', 30_000, 'KAFKA_SESSION_TIMEOUT');
  // Brokers refuse a session timeout under group.min.session.timeout.ms (6 s by default).
  if (sessionTimeoutMs < 6000) section.fail('session_timeout', "must be at least 6s (the broker's group.min.session.timeout.ms)", 'KAFKA_SESSION_TIMEOUT');
  const encoding = section.oneOf('encoding', KAFKA_ENCODINGS, 'otlp_proto', 'KAFKA_ENCODING');
  const groupId = section.str('group_id', 'tracehouse-consumer', 'KAFKA_GROUP_ID');
  const logs = section.child('logs');
  return {
    ...parseKafkaConnection(section),
    topic: section.str('topic', 'otel-spans', 'KAFKA_TOPIC'),
    encoding,
    groupId,
    logs: {
      topic: logs.str('topic', 'otel-logs', 'KAFKA_LOGS_TOPIC'),
      encoding: logs.oneOf('encoding', KAFKA_ENCODINGS, encoding, 'KAFKA_LOGS_ENCODING'),
      groupId: logs.str('group_id', `${groupId}-logs`, 'KAFKA_LOGS_GROUP_ID'),
    },
    sessionTimeoutMs,
  };
}
