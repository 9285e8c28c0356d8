// Batch stage with an exactly-once effect in ClickHouse. Rows are batched per Kafka partition, so a
// batch is one contiguous offset range [first, last] of one partition, and its INSERTs carry the
// dedup token topic:partition:first-last. A batch is written in three steps:
//   1. commit offset `first` with metadata "tracehouse:pending:first-last" (the range is now fixed),
//   2. INSERT with the token (retried with backoff while it fails; nothing is committed meanwhile),
//   3. commit offset `last + 1`.
// After a crash or a rebalance, whoever owns the partition reads the pending range from the commit
// metadata and rebuilds exactly that batch: an INSERT that had landed is then dropped by ClickHouse
// (token dedup on spans_raw, events_raw and every rollup), one that had not lands now.
import { Batcher, FlushLanes } from '../shared/batcher.js';
import { isDataError } from '../shared/clickhouse/errors.js';
import type { TelemetrySink } from '../shared/clickhouse/telemetry-sink.js';
import { failpoint } from '../shared/failpoint.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import { type NormalizedRows, mergeRows, rowCount } from '../shared/normalize/rows.js';

export interface MessageRows {
  offset: string;
  rows: NormalizedRows;
  /** The message as read, for the dead-letter topic if ClickHouse rejects its rows. */
  key: Buffer | null;
  value: Buffer | null;
}

export interface OffsetRange {
  first: bigint;
  last: bigint;
}

const PENDING = /^tracehouse:pending:(\d+)-(\d+)$/;

export function pendingMetadata(range: OffsetRange): string {
  return `tracehouse:pending:${range.first}-${range.last}`;
}

export function parsePending(metadata: string | null | undefined): OffsetRange | null {
  const m = PENDING.exec(metadata ?? '');
  return m ? { first: BigInt(m[1]!), last: BigInt(m[2]!) } : null;
}

export interface PartitionBatchesOptions {
  topic: string;
  maxRows: number;
  maxDelayMs: number;
  /** INSERTs at once across partitions. */
  maxConcurrentFlushes: number;
  sink: TelemetrySink;
  commit: (partition: number, offset: string, metadata: string) => Promise<void>;
  /** Makes the source read the partition again from `offset` (after a failed batch). */
  rewind: (partition: number, offset: string) => void;
  deadLetter: (partition: number, item: MessageRows, reason: string, stage: 'clickhouse') => Promise<void>;
  registry: Registry;
  log: Logger;
  /** False once the consumer is stopping: a failing insert then gives up (its offsets stay uncommitted). */
  isRunning: () => boolean;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export class PartitionBatches {
  private readonly batchers = new Map<number, Batcher<MessageRows>>();
  private readonly lanes: FlushLanes;
  /** Partitions rebuilding a pending batch: the batch must end exactly at this offset. */
  private readonly replays = new Map<number, OffsetRange>();
  private readonly batchRows;
  private readonly retries;
  private readonly committed;
  private readonly rebuilt;

  constructor(private readonly opts: PartitionBatchesOptions) {
    this.lanes = new FlushLanes(opts.maxConcurrentFlushes);
    this.batchRows = opts.registry.histogram('tracehouse_consumer_batch_rows', 'Span rows per INSERT batch.', [10, 100, 500, 1000, 5000, 10000, 50000]);
    this.retries = opts.registry.counter('tracehouse_consumer_insert_retries_total', 'INSERT attempts retried after a failure.');
    this.committed = opts.registry.gauge('tracehouse_consumer_committed_offset', 'Next offset committed, per partition.');
    this.rebuilt = opts.registry.counter('tracehouse_consumer_rebuilt_batches_total', 'Pending batches rebuilt after a crash or rebalance (their INSERT may be a dedup hit).');
  }

  /**
   * A new assignment: kafkajs reads every partition again from its committed offset, so buffered
   * rows are dropped, and pending ranges found in the commit metadata are rebuilt exactly.
   */
  assign(pending: Map<number, OffsetRange>): void {
    this.replays.clear();
    for (const b of this.batchers.values()) b.discardPending(new Error('partition reassigned; rows will be read again'));
    for (const [partition, range] of pending) this.startReplay(partition, range);
  }

  private startReplay(partition: number, range: OffsetRange): void {
    this.replays.set(partition, range);
    this.batcher(partition).hold(true);
    this.rebuilt.inc();
    this.opts.log.info('rebuilding pending batch', { partition, first: String(range.first), last: String(range.last) });
  }

  /** True when the pending batch being rebuilt ends before `offset`: flush it before adding this message. */
  replayEndsBefore(partition: number, offset: string): boolean {
    const r = this.replays.get(partition);
    return r !== undefined && BigInt(offset) > r.last;
  }

  /** True when `offset` completes the pending batch being rebuilt. */
  replayEndsAt(partition: number, offset: string): boolean {
    const r = this.replays.get(partition);
    return r !== undefined && BigInt(offset) === r.last;
  }

  /** Flushes the rebuilt batch, exactly as it was, and returns the partition to size/time batching. */
  endReplay(partition: number): Promise<void> {
    this.replays.delete(partition);
    const b = this.batcher(partition);
    const flushed = b.flush();
    b.hold(false);
    return flushed;
  }

  /** Buffers one message's rows; the promise settles when they are inserted and committed. */
  add(partition: number, item: MessageRows): Promise<void> {
    return this.batcher(partition).add([item]);
  }

  /** Two batches' worth of rows buffered or in flight: the source should wait before reading more. */
  overloaded(partition: number): boolean {
    return (this.batchers.get(partition)?.backlog ?? 0) >= 2 * this.opts.maxRows;
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
        flush: (items) => this.writeBatch(partition, items),
        lanes: this.lanes,
      });
      this.batchers.set(partition, b);
    }
    return b;
  }

  private async writeBatch(partition: number, items: MessageRows[]): Promise<void> {
    const range: OffsetRange = { first: BigInt(items[0]!.offset), last: BigInt(items[items.length - 1]!.offset) };
    let pendingCommitted = false;
    try {
      await this.opts.commit(partition, String(range.first), pendingMetadata(range));
      pendingCommitted = true;
      failpoint('batch-before-insert');
      await this.insertBatch(partition, range, items);
      failpoint('batch-after-insert');
      await this.opts.commit(partition, String(range.last + 1n), '');
      failpoint('batch-after-commit');
    } catch (err) {
      // Later batches must not commit past this one: drop them and read the partition again from
      // here, rebuilding this exact range if its pending marker was committed.
      this.batcher(partition).discardPending(new Error('an earlier batch of this partition failed'));
      if (pendingCommitted) this.startReplay(partition, range);
      this.opts.rewind(partition, String(range.first));
      throw err;
    }
    this.batchRows.observe({}, items.reduce((n, i) => n + i.rows.spans.length, 0));
    this.committed.set({ partition: String(partition) }, Number(range.last + 1n));
  }

  /** One INSERT per table for the batch; if ClickHouse rejects the data, message by message, dead-lettering the rejected ones. */
  private async insertBatch(partition: number, range: OffsetRange, items: MessageRows[]): Promise<void> {
    const token = `${this.opts.topic}:${partition}:${range.first}-${range.last}`;
    try {
      await this.insertWithRetry(mergeRows(items.map((i) => i.rows)), token, partition);
      return;
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.opts.log.warn('batch rejected by ClickHouse; inserting message by message', { partition, first: String(range.first), last: String(range.last), err });
    }
    for (const item of items) {
      try {
        await this.insertWithRetry(item.rows, `${this.opts.topic}:${partition}:${item.offset}-${item.offset}`, partition);
      } catch (err) {
        if (!isDataError(err)) throw err;
        await this.opts.deadLetter(partition, item, (err as Error).message, 'clickhouse');
      }
    }
  }

  /** Retries failures that may pass (ClickHouse down, too many parts) with backoff; data errors are thrown at once. */
  private async insertWithRetry(rows: NormalizedRows, token: string, partition: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.sink.insert(rows, token);
        return;
      } catch (err) {
        if (isDataError(err) || !this.opts.isRunning()) throw err;
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        this.retries.inc();
        this.opts.log.warn('insert failed; retrying', { partition, token, attempt: attempt + 1, wait_ms: wait, err });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
