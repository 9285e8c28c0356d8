// Batch stage: rows are batched per Kafka partition, so each INSERT covers one contiguous offset
// range of one partition; the range's end is committed only after its INSERT succeeded. A failing
// INSERT is retried with backoff and nothing is committed meanwhile.
import { Batcher } from '../shared/batcher.js';
import type { TelemetrySink } from '../shared/clickhouse/telemetry-sink.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import { type NormalizedRows, mergeRows, rowCount } from '../shared/normalize/rows.js';

export interface MessageRows {
  offset: string;
  rows: NormalizedRows;
}

export type CommitFn = (partition: number, nextOffset: string) => Promise<void>;

export interface PartitionBatchesOptions {
  topic: string;
  maxRows: number;
  maxDelayMs: number;
  sink: TelemetrySink;
  commit: CommitFn;
  registry: Registry;
  log: Logger;
  /** False once the consumer is stopping: a failing insert then gives up (its offsets stay uncommitted). */
  isRunning: () => boolean;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export class PartitionBatches {
  private readonly batchers = new Map<number, Batcher<MessageRows>>();
  private readonly batchRows;
  private readonly retries;
  private readonly committed;

  constructor(private readonly opts: PartitionBatchesOptions) {
    this.batchRows = opts.registry.histogram('tracehouse_consumer_batch_rows', 'Span rows per INSERT batch.', [10, 100, 500, 1000, 5000, 10000, 50000]);
    this.retries = opts.registry.counter('tracehouse_consumer_insert_retries_total', 'INSERT attempts retried after a failure.');
    this.committed = opts.registry.gauge('tracehouse_consumer_committed_offset', 'Next offset committed, per partition.');
  }

  /** Buffers one message's rows; the promise settles when they are inserted and committed. */
  add(partition: number, item: MessageRows): Promise<void> {
    return this.batcher(partition).add([item]);
  }

  /** Two batches' worth of rows buffered or in flight: the source should wait before reading more. */
  overloaded(partition: number): boolean {
    return (this.batchers.get(partition)?.backlog ?? 0) >= 2 * this.opts.maxRows;
  }

  /** After a rebalance kafkajs re-reads from the committed offsets: buffered rows would be read twice. */
  discardUncommitted(): void {
    for (const b of this.batchers.values()) b.discardPending(new Error('partition reassigned; rows will be read again'));
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.flush()));
  }

  private batcher(partition: number): Batcher<MessageRows> {
    let b = this.batchers.get(partition);
    if (b === undefined) {
      b = new Batcher<MessageRows>({
        maxWeight: this.opts.maxRows,
        maxDelayMs: this.opts.maxDelayMs,
        weight: (item) => Math.max(1, rowCount(item.rows)),
        flush: (items) => this.insertAndCommit(partition, items),
      });
      this.batchers.set(partition, b);
    }
    return b;
  }

  private async insertAndCommit(partition: number, items: MessageRows[]): Promise<void> {
    const first = items[0]!.offset;
    const last = items[items.length - 1]!.offset;
    const rows = mergeRows(items.map((i) => i.rows));
    // Same partition and offset range => same token, so a re-inserted identical batch is dropped by ClickHouse.
    const token = `${this.opts.topic}:${partition}:${first}-${last}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.sink.insert(rows, token);
        break;
      } catch (err) {
        if (!this.opts.isRunning()) throw err;
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        this.retries.inc();
        this.opts.log.warn('insert failed; retrying', { partition, first, last, spans: rows.spans.length, attempt: attempt + 1, wait_ms: wait, err });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    this.batchRows.observe({}, rows.spans.length);
    const next = (BigInt(last) + 1n).toString();
    await this.opts.commit(partition, next);
    this.committed.set({ partition: String(partition) }, Number(next));
  }
}
