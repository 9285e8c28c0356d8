// kafkajs wiring shared by the receiver (producer) and the consumer: one client factory whose logs
// go through our JSON logger and whose clients read every compression (kafka-codecs.ts), and
// idempotent topic creation.
import kafkajs, { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Section } from './config.js';
import type { Logger } from './log.js';
import { registerKafkaCodecs } from './kafka-codecs.js';

// kafkajs spreads its error classes into module.exports, where Node's ESM named imports cannot see them.
export const { KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSConnectionError } = kafkajs;

/** Where Kafka is, as the kafka receiver and exporter both configure it. */
export interface KafkaConnection {
  /** Empty: no Kafka (`tracehouse start` then writes to ClickHouse directly). */
  brokers: string[];
  clientId: string;
}

export function parseKafkaConnection(section: Section): KafkaConnection {
  return { brokers: section.list('brokers', 'KAFKA_BROKERS'), clientId: section.str('client_id', 'tracehouse') };
}

export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  registerKafkaCodecs();
  const kafkaLog = log.child('kafkajs');
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      const write = entry.level <= logLevel.ERROR ? kafkaLog.error : kafkaLog.warn;
      write(String(message), { namespace: entry.namespace, ...fields });
    },
  });
}

/** Creates the topic with `partitions` partitions when it does not exist; an existing topic is left as it is. */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, log: Logger): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  const created = await createTopicsWithLeaders(admin, [{ topic, numPartitions: partitions }]);
  if (created) log.info('kafka topic created', { topic, partitions });
}

// Right after CreateTopics a KRaft broker can answer metadata with UNKNOWN_TOPIC_OR_PARTITION
// as well as LEADER_NOT_AVAILABLE; kafkajs' waitForLeaders gives up on the first, so we wait ourselves.
const SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

// kafkajs retries LEADER_NOT_AVAILABLE itself and, when out of retries, wraps it as the cause.
function isSettling(err: unknown): boolean {
  const protocolError = err instanceof KafkaJSProtocolError ? err : err instanceof Error && err.cause instanceof KafkaJSProtocolError ? err.cause : null;
  return protocolError !== null && SETTLING.has(protocolError.type);
}

/**
 * Creates the topics (false when they all existed) and returns once every partition of each has a
 * leader; throws after `timeoutMs`.
 */
export async function createTopicsWithLeaders(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      if (found.length === names.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return created;
    } catch (err) {
      if (!isSettling(err)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`kafka topics ${names.join(', ')}: no leader for every partition after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
