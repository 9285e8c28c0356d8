// The kafka receiver: a consumer group over the spans topic (kafka-source.ts) running the
// exactly-once batch protocol (partition-batches.ts). Offsets are committed only after the
// INSERT of their rows, so the pipeline after it must be able to take part: the genai processor maps
// each message to rows, the batch processor sets the batch limits, and the clickhouse exporter
// inserts each offset range with its dedup token.
import type { Component, CreateSettings, ReceiverFactory, TracesConsumer } from '../../component/component.js';
import { decodeMessage } from './decode.js';
import { KafkaSource } from './kafka-source.js';
import { PartitionBatches } from './partition-batches.js';
import { ConfigError } from '../../shared/config-error.js';
import { kafkaExporterFactory } from '../../exporters/kafka/factory.js';
import { type KafkaReceiverConfig, parseKafkaReceiverConfig } from './config.js';
import type { NormalizedRows } from '../../processors/genai/rows.js';
import { type Stage, exactlyOnceStage, normalizedRows } from '../exactly-once.js';

export class KafkaReceiver implements Component {
  private source: KafkaSource | undefined;

  constructor(
    private readonly settings: CreateSettings<KafkaReceiverConfig>,
    private readonly stage: Stage,
  ) {}

  async start(): Promise<void> {
    const { config: cfg, registry, log, resources } = this.settings;
    // The topic is created, when absent, as the kafka exporter would create it.
    const partitions = this.settings.configOf(kafkaExporterFactory).partitions;
    const source = new KafkaSource(resources.kafka(), { ...cfg, partitions }, registry, log);
    const batches = new PartitionBatches<NormalizedRows>({
      topic: cfg.topic,
      ...this.stage.batch,
      offsets: source,
      sink: this.stage.sink,
      rows: normalizedRows,
      decode: (message) => this.stage.normalize(decodeMessage(cfg.encoding, message.value).data),
      deadLetter: (partition, message, reason, stage) => source.deadLetter(partition, message, reason, stage),
      fatal: (err) => this.settings.reportFatal(err),
      registry,
      log,
      isRunning: () => source.isRunning(),
    });
    source.attach(batches);
    await source.start();
    this.source = source;
    log.info('consumer running', { topic: cfg.topic, group: cfg.groupId, encoding: cfg.encoding, batch_rows: this.stage.batch.maxRows, batch_ms: this.stage.batch.maxDelayMs });
  }

  ready(): boolean {
    return this.source?.ready() ?? false;
  }

  /** Stops reading, flushes and commits what was read, leaves the group. */
  async shutdown(): Promise<void> {
    await this.source?.stop();
  }
}

export const kafkaReceiverFactory = {
  kind: 'receiver',
  type: 'kafka' as const,
  produces: 'traces',
  parseConfig: parseKafkaReceiverConfig,
  create: async (settings, next: TracesConsumer) => {
    const stage = exactlyOnceStage('kafka', settings.pipeline, next);
    if (settings.config.brokers.length === 0) throw new ConfigError('the kafka receiver needs Kafka: set KAFKA_BROKERS or exporters.kafka.brokers');
    return new KafkaReceiver(settings, stage);
  },
} satisfies ReceiverFactory<KafkaReceiverConfig>;
