// The consumer service: Kafka -> decode -> normalize -> batch -> ClickHouse, offsets committed after each INSERT.
import type { Kafka } from 'kafkajs';
import type { TelemetrySink } from '../shared/clickhouse/telemetry-sink.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { Normalizer } from '../shared/normalize/rows.js';
import { KafkaSource } from './kafka-source.js';
import { PartitionBatches } from './partition-batches.js';

export interface ConsumerService {
  ready(): boolean;
  /** Stops intake, flushes and commits what was read, leaves the group. */
  stop(): Promise<void>;
}

export async function startConsumer(config: Config, kafka: Kafka, normalizer: Normalizer, sink: TelemetrySink, registry: Registry, log: Logger): Promise<ConsumerService> {
  const source = new KafkaSource(kafka, config.kafka, normalizer, null, registry, log);
  source.attach(
    new PartitionBatches({
      topic: config.kafka.topic,
      maxRows: config.batch.maxRows,
      maxDelayMs: config.batch.maxDelayMs,
      maxConcurrentFlushes: config.batch.maxConcurrentFlushes,
      sink,
      commit: (partition, offset, metadata) => source.commit(partition, offset, metadata),
      rewind: (partition, offset) => source.rewind(partition, offset),
      deadLetter: (partition, item, reason, stage) => source.deadLetter(partition, item, reason, stage),
      registry,
      log,
      isRunning: () => source.isRunning(),
    }),
  );
  await source.start();
  log.info('consumer running', { topic: config.kafka.topic, group: config.kafka.groupId, encoding: config.kafka.encoding, batch_rows: config.batch.maxRows, batch_ms: config.batch.maxDelayMs });
  return { ready: () => source.ready(), stop: () => source.stop() };
}
