// The clickhouse exporter: rows into spans_raw, events_raw and logs_raw over HTTP (TelemetrySink), after
// waiting for the server and applying migrations when configured. It offers the Kafka receiver an
// INSERT with a dedup token, the exporter's half of the exactly-once protocol.
import type { BatchSink, Component, CreateSettings, ExporterFactory, RowsConsumer } from '../../component/component.js';
import { waitForClickHouse } from '../../shared/clickhouse/client.js';
import { migrate } from '../../shared/clickhouse/migrate.js';
import { type ClickHouseExporterConfig, parseClickHouseExporterConfig } from './config.js';
import { type EncodedRows, TelemetrySink, encodedRows } from './telemetry-sink.js';
import type { NormalizedRows } from '../../processors/genai/rows.js';

export class ClickHouseExporter implements RowsConsumer, Component {
  private telemetry: TelemetrySink | undefined;
  /** Stable from creation, usable once started: the Kafka receiver is built before anything starts. */
  readonly sink: BatchSink<EncodedRows> = { ...encodedRows, insert: (rows, token) => this.telemetry!.insertEncoded(rows, token) };

  constructor(private readonly settings: CreateSettings<ClickHouseExporterConfig>) {}

  async start(): Promise<void> {
    const { config, registry, log, resources } = this.settings;
    const ch = await resources.clickhouse();
    await waitForClickHouse(ch, log);
    if (config.migrateOnStart) await migrate(ch.client, config, log.child('migrate'));
    this.telemetry = new TelemetrySink(ch, config.database, registry, log);
    log.info('clickhouse ready', { location: ch.location, managed: ch.managed, database: config.database });
  }

  consumeRows(rows: NormalizedRows): Promise<void> {
    return this.telemetry!.insert(rows);
  }

  ready(): boolean {
    return this.telemetry !== undefined;
  }

  async shutdown(): Promise<void> {
    // The ClickHouse connection is shared (Resources) and closed after every component stopped.
  }
}

export const clickhouseExporterFactory = {
  kind: 'exporter',
  type: 'clickhouse' as const,
  consumes: ['rows'],
  parseConfig: parseClickHouseExporterConfig,
  create: async (settings) => new ClickHouseExporter(settings),
} satisfies ExporterFactory<ClickHouseExporterConfig>;
