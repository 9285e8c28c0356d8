// Writes one batch of normalized rows: one INSERT into spans_raw and one into events_raw, each with
// a dedup token derived from the batch's, so a batch inserted twice (redelivery) is stored once.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import type { Registry } from '../metrics.js';
import type { NormalizedRows } from '../normalize/rows.js';

export class TelemetrySink {
  private readonly insertSeconds;
  private readonly rowsInserted;
  private readonly insertFailures;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.insertSeconds = registry.histogram('tracehouse_clickhouse_insert_seconds', 'Latency of one batch INSERT, by table.');
    this.rowsInserted = registry.counter('tracehouse_clickhouse_rows_inserted_total', 'Rows inserted, by table.');
    this.insertFailures = registry.counter('tracehouse_clickhouse_insert_failures_total', 'Failed batch INSERTs, by table.');
  }

  async insert(rows: NormalizedRows, dedupToken = ''): Promise<void> {
    await this.insertTable('spans_raw', rows.spans, dedupToken);
    await this.insertTable('events_raw', rows.events, dedupToken);
  }

  private async insertTable(table: string, values: object[], dedupToken: string): Promise<void> {
    if (values.length === 0) return;
    const started = performance.now();
    try {
      await this.client.insert({
        table: `${this.database}.${table}`,
        format: 'JSONEachRow',
        values,
        ...(dedupToken ? { clickhouse_settings: { insert_deduplication_token: `${dedupToken}:${table}` } } : {}),
      });
    } catch (err) {
      this.insertFailures.inc({ table });
      this.log.warn('insert failed', { table, rows: values.length, err });
      throw err;
    }
    this.insertSeconds.observe({ table }, (performance.now() - started) / 1000);
    this.rowsInserted.inc({ table }, values.length);
  }
}
