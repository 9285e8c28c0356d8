// The kafka receiver: a consumer group over each signal's topic (kafka-source.ts: the spans topic,
// and the logs topic when a logs pipeline lists it) running the exactly-once batch protocol
// (partition-batches.ts). Offsets are committed only after the INSERT of their rows, so the pipeline
// after it must be able to take part: the genai processor maps each message to rows, the batch
// processor sets the batch limits, and the clickhouse exporter inserts each offset range with its
// dedup token (the topic is part of it).
import type { Component, CreateSettings, ReceiverFactory } from '../../component/component.js';
import { decodeLogsMessage, decodeTracesMessage } from './decode.js';
import { KafkaSource } from './kafka-source.js';
import { PartitionBatches } from './partition-batches.js';
import { ConfigError } from '../../shared/config-error.js';
import { kafkaExporterFactory } from '../../exporters/kafka/factory.js';
import { type KafkaEncoding, type KafkaReceiverConfig, type TopicSubscription, parseKafkaReceiverConfig } from './config.js';
import { type Stage, exactlyOnceStages } from '../exactly-once.js';
import type { LogsData, TracesData } from '../../otlp/model.js';

/** One signal's consumer: its topic, how its messages decode, and the stage that stores them. */
interface Subscription<D> {
  subscription: TopicSubscription;
  decode(encoding: KafkaEncoding, value: Buffer | null): D;
  stage: Stage<D>;
}

export class KafkaReceiver implements Component {
  private readonly sources: KafkaSource[] = [];

  constructor(
    private readonly settings: CreateSettings<KafkaReceiverConfig>,
    private readonly stages: { traces?: Stage<TracesData>; logs?: Stage<LogsData> },
  ) {}

  async start(): Promise<void> {
    const cfg = this.settings.config;
    const { traces, logs } = this.stages;
    try {
      if (traces) await this.consume({ subscription: cfg, decode: decodeTracesMessage, stage: traces });
      if (logs) await this.consume({ subscription: cfg.logs, decode: decodeLogsMessage, stage: logs });
    } catch (err) {
      await this.shutdown();
      throw err;
    }
  }

  private async consume<D>({ subscription, decode, stage }: Subscription<D>): Promise<void> {
    const { config: cfg, registry, log, resources } = this.settings;
    // The topic is created, when absent, as the kafka exporter would create it.
    const partitions = this.settings.configOf(kafkaExporterFactory).partitions;
    const source = new KafkaSource(resources.kafka(), { ...cfg, ...subscription, partitions }, registry, log);
    const batches = new PartitionBatches<unknown>({
      topic: subscription.topic,
      ...stage.batch,
      offsets: source,
      sink: stage.sink,
      rows: stage.sink,
      decode: (message) => stage.sink.prepare(stage.normalize(decode(subscription.encoding, message.value))),
      deadLetter: (partition, message, reason, at) => source.deadLetter(partition, message, reason, at),
      fatal: (err) => this.settings.reportFatal(err),
      registry,
      log,
      isRunning: () => source.isRunning(),
    });
    source.attach(batches);
    this.sources.push(source);
    await source.start();
    log.info('consumer running', { topic: subscription.topic, group: subscription.groupId, encoding: subscription.encoding, batch_rows: stage.batch.maxRows, batch_ms: stage.batch.maxDelayMs });
  }

  ready(): boolean {
    return this.sources.length > 0 && this.sources.every((s) => s.ready());
  }

  /** Stops reading, flushes and commits what was read, leaves the groups. */
  async shutdown(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
  }
}

export const kafkaReceiverFactory = {
  kind: 'receiver',
  type: 'kafka' as const,
  produces: ['traces', 'logs'],
  parseConfig: parseKafkaReceiverConfig,
  create: async (settings, next) => {
    const stages = exactlyOnceStages('kafka', settings.pipeline, next);
    if (settings.config.brokers.length === 0) throw new ConfigError('the kafka receiver needs Kafka: set KAFKA_BROKERS or exporters.kafka.brokers');
    return new KafkaReceiver(settings, stages);
  },
} satisfies ReceiverFactory<KafkaReceiverConfig>;
