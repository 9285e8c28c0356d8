// Writes one batch of rows: one INSERT into each of spans_raw, events_raw and logs_raw that has rows,
// each with a dedup token derived from the batch's, so a batch inserted twice (redelivery) is stored
// once. Rows wait for it encoded (encodedRows: prepared per message, merged per batch).
import type { BatchSink } from '../../component/component.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import { type NormalizedRows, rowCount } from '../../processors/genai/rows.js';
import type { ClickHouseHandle } from '../../shared/clickhouse/client.js';
import { classifyInsertError } from './errors.js';
import { type ColumnChunk, eventRows, logRows, spanRows } from './row-format.js';

/** Rows encoded for their INSERTs: per table the chunks of consecutive messages, in order. */
export interface EncodedRows {
  spans: ColumnChunk[];
  events: ColumnChunk[];
  logs: ColumnChunk[];
  /** The batch weight of the rows (rowCount). */
  rows: number;
  /** Per tenant, the newest span start time (ns) among the spans: the watermark gauge's. */
  newest: Array<[tenant: string, startNs: bigint]>;
}

const NO_CHUNKS: never[] = [];

function prepare(rows: NormalizedRows): EncodedRows {
  const newest = new Map<string, bigint>();
  for (const s of rows.spans) if ((newest.get(s.tenant_id) ?? -1n) < s.start_ts) newest.set(s.tenant_id, s.start_ts);
  return {
    spans: rows.spans.length > 0 ? [spanRows.chunk(rows.spans)] : NO_CHUNKS,
    events: rows.events.length > 0 ? [eventRows.chunk(rows.events)] : NO_CHUNKS,
    logs: rows.logs.length > 0 ? [logRows.chunk(rows.logs)] : NO_CHUNKS,
    rows: rowCount(rows),
    newest: [...newest],
  };
}

/** How rows wait for their INSERT: encoded when their message is read (a value a column cannot hold is a PermanentError then). */
export const encodedRows: Omit<BatchSink<EncodedRows>, 'insert'> = {
  prepare: (rows) => {
    try {
      return prepare(rows);
    } catch (err) {
      throw classifyInsertError(err);
    }
  },
  empty: () => ({ spans: NO_CHUNKS, events: NO_CHUNKS, logs: NO_CHUNKS, rows: 0, newest: [] }),
  count: (rows) => rows.rows,
  merge: (items) =>
    items.length === 1
      ? items[0]!
      : {
          spans: items.flatMap((i) => i.spans),
          events: items.flatMap((i) => i.events),
          logs: items.flatMap((i) => i.logs),
          rows: items.reduce((n, i) => n + i.rows, 0),
          newest: items.flatMap((i) => i.newest),
        },
};

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
    await this.insertEncoded(encodedRows.prepare(rows), dedupToken);
  }

  async insertEncoded(rows: EncodedRows, dedupToken = ''): Promise<void> {
    await this.insertTable('spans_raw', spanRows, rows.spans, dedupToken);
    await this.insertTable('events_raw', eventRows, rows.events, dedupToken);
    await this.insertTable('logs_raw', logRows, rows.logs, dedupToken);
    this.advanceWatermarks(rows.newest);
  }

  private advanceWatermarks(newest: EncodedRows['newest']): void {
    for (const [tenant, startNs] of newest) {
      const known = this.newestByTenant.get(tenant);
      if (known !== undefined && known >= startNs) continue;
      this.newestByTenant.set(tenant, startNs);
      this.watermark.set({ tenant }, Number(startNs / 1_000_000n) / 1000);
    }
  }

  private async insertTable(table: string, layout: typeof spanRows | typeof eventRows | typeof logRows, chunks: readonly ColumnChunk[], dedupToken: string): Promise<void> {
    if (chunks.length === 0) return;
    const count = chunks.reduce((n, c) => n + c.rows, 0);
    let started = 0;
    try {
      const body = layout.body(chunks);
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
