// Writes one batch of normalized rows: one INSERT into each of spans_raw, events_raw and logs_raw
// that has rows, each with a dedup token derived from the batch's, so a batch inserted twice
// (redelivery) is stored once.
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import type { NormalizedRows } from '../../processors/genai/rows.js';
import type { ClickHouseHandle } from '../../shared/clickhouse/client.js';
import { classifyInsertError } from './errors.js';
import { type InsertBody, eventRowsBody, logRowsBody, spanRowsBody } from './row-format.js';

export class TelemetrySink {
  private readonly insertSeconds;
  private readonly rowsInserted;
  private readonly insertFailures;
  private readonly watermark;
  private readonly newestByTenant = new Map<string, bigint>();

  constructor(
    private readonly clickhouse: Pick<ClickHouseHandle, 'insertRaw'>,
    private readonly database: string,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.insertSeconds = registry.histogram('tracehouse_clickhouse_insert_seconds', 'Latency of one batch INSERT, by table.');
    this.rowsInserted = registry.counter('tracehouse_clickhouse_rows_inserted_total', 'Rows inserted, by table.');
    this.insertFailures = registry.counter('tracehouse_clickhouse_insert_failures_total', 'Failed batch INSERTs, by table.');
    this.watermark = registry.gauge('tracehouse_ingest_watermark_seconds', 'Newest span start time stored, per tenant (Unix seconds): freshness = time() - this.');
  }

  async insert(rows: NormalizedRows, dedupToken = ''): Promise<void> {
    if (rows.spans.length > 0) await this.insertTable('spans_raw', () => spanRowsBody(rows.spans), rows.spans.length, dedupToken);
    if (rows.events.length > 0) await this.insertTable('events_raw', () => eventRowsBody(rows.events), rows.events.length, dedupToken);
    if (rows.logs.length > 0) await this.insertTable('logs_raw', () => logRowsBody(rows.logs), rows.logs.length, dedupToken);
    this.advanceWatermarks(rows);
  }

  private advanceWatermarks(rows: NormalizedRows): void {
    for (const span of rows.spans) {
      const newest = this.newestByTenant.get(span.tenant_id);
      if (newest !== undefined && newest >= span.start_ts) continue;
      this.newestByTenant.set(span.tenant_id, span.start_ts);
      this.watermark.set({ tenant: span.tenant_id }, Number(span.start_ts / 1_000_000n) / 1000);
    }
  }

  /** `encode` runs inside the classification: a row the encoder cannot write is a permanent failure too. */
  private async insertTable(table: string, encode: () => InsertBody, count: number, dedupToken: string): Promise<void> {
    let started = 0;
    try {
      const body = encode();
      started = performance.now();
      await this.clickhouse.insertRaw({ table: `${this.database}.${table}`, ...body, settings: dedupToken ? { insert_deduplication_token: `${dedupToken}:${table}` } : {} });
    } catch (err) {
      this.insertFailures.inc({ table });
      this.log.warn('insert failed', { table, rows: count, err });
      throw classifyInsertError(err);
    }
    this.insertSeconds.observe({ table }, (performance.now() - started) / 1000);
    this.rowsInserted.inc({ table }, count);
  }
}
