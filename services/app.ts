// Assembles components into a running service from the config's pipelines, collector style:
//   traces/ingest: otlp -> attributes -> kafka | clickhouse (direct)
//   traces/store:  kafka -> batch -> clickhouse
// Mode 'all' (npm start) runs both in one process; with no Kafka brokers configured the ingest
// pipeline exports straight to ClickHouse, still acking only after the INSERT committed.
import type { Kafka } from 'kafkajs';
import { type ConsumerService, startConsumer } from './consumer/index.js';
import { ClickHouseDirectExporter } from './receiver/clickhouse-exporter.js';
import type { TracesExporter } from './receiver/exporter.js';
import { type ReceiverService, startReceiver } from './receiver/index.js';
import { KafkaExporter } from './receiver/kafka-exporter.js';
import { Redactor } from './processors/redaction.js';
import { type AdminServer, startAdminServer } from './shared/admin-server.js';
import { Batcher } from './shared/batcher.js';
import { type ClickHouseHandle, openClickHouse, waitForClickHouse } from './shared/clickhouse/client.js';
import { migrate } from './shared/clickhouse/migrate.js';
import { TelemetrySink } from './shared/clickhouse/telemetry-sink.js';
import { type Config, ConfigError, type PipelineConfig } from './shared/config.js';
import { createKafka } from './shared/kafka.js';
import type { Logger } from './shared/log.js';
import { Registry } from './shared/metrics.js';
import { type NormalizedRows, Normalizer, mergeRows, rowCount } from './shared/normalize/rows.js';

export type Mode = 'receiver' | 'consumer' | 'all';

export interface RunningApp {
  /** OTLP/HTTP port, when this process runs the receiver. */
  readonly otlpPort: number | undefined;
  readonly adminPort: number;
  readonly registry: Registry;
  readonly clickhouse: ClickHouseHandle | undefined;
  ready(): boolean;
  stop(): Promise<void>;
}

function pipelineWith(config: Config, kind: 'receivers', id: string): PipelineConfig | undefined {
  return Object.values(config.pipelines).find((p) => p[kind].includes(id));
}

function requireBrokers(config: Config, who: string): void {
  if (config.kafka.brokers.length === 0) throw new ConfigError(`${who} needs Kafka: set KAFKA_BROKERS or exporters.kafka.brokers`);
}

export async function startApp(mode: Mode, config: Config, log: Logger): Promise<RunningApp> {
  const registry = new Registry();
  const ingest = mode === 'consumer' ? undefined : pipelineWith(config, 'receivers', 'otlp');
  const store = mode === 'receiver' ? undefined : pipelineWith(config, 'receivers', 'kafka');
  if (mode !== 'consumer' && ingest === undefined) throw new ConfigError('no pipeline in service.pipelines has the otlp receiver');
  if (mode === 'consumer' && store === undefined) throw new ConfigError('no pipeline in service.pipelines has the kafka receiver');

  // In 'all' mode without brokers the ingest pipeline's kafka exporter is replaced by ClickHouse.
  const useKafka = mode === 'consumer' || (ingest!.exporters.includes('kafka') && (mode === 'receiver' || config.kafka.brokers.length > 0));
  if (useKafka) requireBrokers(config, mode === 'all' ? 'the kafka pipeline' : `the ${mode}`);
  const needsClickHouse = mode !== 'receiver' || !useKafka;

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    let clickhouse: ClickHouseHandle | undefined;
    let sink: TelemetrySink | undefined;
    if (needsClickHouse) {
      clickhouse = await openClickHouse(config.clickhouse, log);
      const ch = clickhouse;
      stops.push(() => ch.close());
      await waitForClickHouse(ch, log);
      if (config.clickhouse.migrateOnStart) await migrate(ch.client, config.clickhouse, log.child('migrate'));
      sink = new TelemetrySink(ch, config.clickhouse.database, registry, log.child('clickhouse'));
      log.info('clickhouse ready', { location: ch.location, managed: ch.managed, database: config.clickhouse.database });
    }
    const normalizer = Normalizer.fromConfig(config);
    const kafka: Kafka | undefined = useKafka ? createKafka(config.kafka.brokers, config.kafka.clientId, log) : undefined;

    let consumer: ConsumerService | undefined;
    if (mode !== 'receiver' && useKafka) {
      consumer = await startConsumer(config, kafka!, normalizer, sink!, registry, log.child('consumer'));
      const c = consumer;
      stops.push(() => c.stop());
    }

    let receiver: ReceiverService | undefined;
    if (mode !== 'consumer') {
      let exporter: TracesExporter;
      if (useKafka) {
        const kafkaExporter = new KafkaExporter(kafka!, config.kafka, registry, log.child('kafka'));
        await kafkaExporter.start();
        exporter = kafkaExporter;
      } else {
        const direct = sink!;
        const batcher = new Batcher<NormalizedRows>({ maxWeight: config.batch.maxRows, maxDelayMs: config.batch.maxDelayMs, weight: rowCount, flush: (items) => direct.insert(mergeRows(items)) });
        exporter = new ClickHouseDirectExporter(batcher, normalizer);
        log.info('no Kafka brokers configured: receiver writes to ClickHouse directly');
      }
      const redactor = config.redaction !== null && ingest!.processors.includes('redaction') ? new Redactor(config.redaction, registry) : undefined;
      receiver = await startReceiver(config, exporter, registry, log.child('receiver'), redactor);
      const r = receiver;
      // Registered last so it stops first: intake ends before the consumer and ClickHouse go away.
      stops.push(() => r.stop());
    }

    const ready = (): boolean => (receiver?.ready() ?? true) && (consumer?.ready() ?? true);
    const admin: AdminServer = await startAdminServer({ host: config.admin.host, port: config.admin.port ?? (mode === 'consumer' ? 8889 : 8888), registry, ready });
    stops.push(() => admin.close());
    log.info('admin endpoint listening', { url: `http://${config.admin.host}:${admin.port}`, paths: ['/healthz', '/readyz', '/metrics'] });

    return { otlpPort: receiver?.port, adminPort: admin.port, registry, clickhouse, ready, stop: stopAll };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
