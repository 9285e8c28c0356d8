// kafkajs wiring shared by the receiver (producer) and the consumer: one client factory whose logs
// go through our JSON logger and whose clients read every compression (kafka-codecs.ts), and
// idempotent topic creation.
import kafkajs, { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
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
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  if (created) log.info('kafka topic created', { topic, partitions });
}
