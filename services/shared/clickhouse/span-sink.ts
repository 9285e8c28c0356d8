// Writes span rows to <database>.spans_raw: one INSERT per batch, optionally with a dedup token
// so a batch inserted twice (redelivery after a crash) is stored once.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import type { Registry } from '../metrics.js';
import type { SpanRow } from '../normalize.js';

export class SpanSink {
  private readonly table: string;
  private readonly insertSeconds;
  private readonly rowsInserted;
  private readonly insertFailures;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.table = `${database}.spans_raw`;
    this.insertSeconds = registry.histogram('tracehouse_clickhouse_insert_seconds', 'Latency of one batch INSERT into spans_raw.');
    this.rowsInserted = registry.counter('tracehouse_clickhouse_rows_inserted_total', 'Span rows inserted into spans_raw.');
    this.insertFailures = registry.counter('tracehouse_clickhouse_insert_failures_total', 'Failed batch INSERTs into spans_raw.');
  }

  async insert(rows: SpanRow[], dedupToken = ''): Promise<void> {
    if (rows.length === 0) return;
    const started = performance.now();
    try {
      await this.client.insert({
        table: this.table,
        format: 'JSONEachRow',
        values: rows,
        ...(dedupToken ? { clickhouse_settings: { insert_deduplication_token: dedupToken } } : {}),
      });
    } catch (err) {
      this.insertFailures.inc();
      this.log.warn('insert into spans_raw failed', { rows: rows.length, err });
      throw err;
    }
    this.insertSeconds.observe({}, (performance.now() - started) / 1000);
    this.rowsInserted.inc({}, rows.length);
  }
}
