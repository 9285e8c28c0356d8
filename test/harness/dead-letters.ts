// Reads the headers of every message on a topic's dead-letter topic (waiting for at least one).
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { deadLetterTopic } from '../../services/receivers/kafka/kafka-source.js';
import { waitFor } from './pipeline.js';

export async function readDeadLetters(kafka: Kafka, sourceTopic: string): Promise<Array<Record<string, string>>> {
  const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: deadLetterTopic(sourceTopic), fromBeginning: true });
  const dead: Array<Record<string, string>> = [];
  await consumer.run({ eachMessage: async ({ message }) => void dead.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))) });
  try {
    await waitFor(async () => dead.length > 0, 15_000, `a message on ${deadLetterTopic(sourceTopic)}`);
  } finally {
    await consumer.disconnect();
  }
  return dead;
}
