// The consumer service: Kafka -> decode -> normalize -> batch -> ClickHouse, offsets committed after each INSERT.
import type { Kafka } from 'kafkajs';
import type { TelemetrySink } from '../shared/clickhouse/telemetry-sink.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import { type NormalizedRows, type Normalizer, mergeRows, rowCount } from '../shared/normalize/rows.js';
import { decodeMessage } from './decode.js';
import { KafkaSource } from './kafka-source.js';
import { PartitionBatches, type RowsKind } from './partition-batches.js';

export interface ConsumerService {
  ready(): boolean;
  /** Stops intake, flushes and commits what was read, leaves the group. */
  stop(): Promise<void>;
}

const normalizedRows: RowsKind<NormalizedRows> = { empty: () => ({ spans: [], events: [] }), count: rowCount, merge: mergeRows };

export async function startConsumer(config: Config, kafka: Kafka, normalizer: Normalizer, sink: TelemetrySink, registry: Registry, log: Logger): Promise<ConsumerService> {
  const source = new KafkaSource(kafka, config.kafka, registry, log);
  const batches = new PartitionBatches<NormalizedRows>({
    topic: config.kafka.topic,
    maxRows: config.batch.maxRows,
    maxDelayMs: config.batch.maxDelayMs,
    maxConcurrentFlushes: config.batch.maxConcurrentFlushes,
    offsets: source,
    sink,
    rows: normalizedRows,
    decode: (message) => normalizer.normalize(decodeMessage(config.kafka.encoding, message.value).data),
    deadLetter: (partition, message, reason, stage) => source.deadLetter(partition, message, reason, stage),
    registry,
    log,
    isRunning: () => source.isRunning(),
  });
  source.attach(batches);
  await source.start();
  log.info('consumer running', { topic: config.kafka.topic, group: config.kafka.groupId, encoding: config.kafka.encoding, batch_rows: config.batch.maxRows, batch_ms: config.batch.maxDelayMs });
  return { ready: () => source.ready(), stop: () => source.stop() };
}
