// The exactly-once batch protocol between a partitioned log (Kafka) and ClickHouse. Rows are batched
// per partition, so a batch is one contiguous offset range [first, last] of one partition, and its
// INSERTs carry the dedup token topic:partition:first-last. A batch is written in three steps:
//   1. commit offset `first` with metadata "tracehouse:pending:first-last" (the range is now fixed),
//   2. INSERT with the token (retried with backoff while it fails; nothing is committed meanwhile),
//   3. commit offset `last + 1`.
// Whoever owns the partition next reads the committed offset and rebuilds a pending range exactly:
// an INSERT that had landed is then dropped by ClickHouse (token dedup on spans_raw, events_raw and
// every rollup), one that had not lands now.
//
// That rule holds only if what the next owner reads is final. So every assignment is an epoch:
// `fence()` (on rebalance, crash, or a new assignment) stops every batch of the previous epoch from
// committing or inserting again and drops buffered rows; `assign()` then waits until the previous
// epoch's batches have settled, reads the committed offsets, and moves the read position of every
// partition to them. Messages are taken only from readers of the current epoch, in offset order
// from that position.
import type { BatchSink, RowsKind } from '../../component/component.js';
import { Batcher, FlushLanes, type Timers, systemTimers } from '../../shared/batcher.js';
import { ConfigError } from '../../shared/config-error.js';
import { isPermanent } from '../../shared/errors.js';
import { failpoint } from '../../shared/failpoint.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';

export interface OffsetRange {
  first: bigint;
  last: bigint;
}

/** A partition's committed position: null offset = nothing committed yet. */
export interface Committed {
  offset: bigint | null;
  metadata: string | null;
}

/** The consumer group's offset storage, as the protocol needs it. */
export interface OffsetStore {
  /** Resolves only once the group coordinator stored this offset; rejects otherwise. */
  commit(partition: number, offset: bigint, metadata: string): Promise<void>;
  committed(partitions: readonly number[]): Promise<Map<number, Committed>>;
  /** The next read of the partition starts at `offset`; reads already under way become stale. */
  seek(partition: number, offset: bigint): void;
}

export interface LogMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** Per read of the log: the reader's own controls. */
export interface ReadControl {
  /** True once the read position was moved (seek) after this read began. */
  isStale(): boolean;
  /** Marks the message as read (not committed): the reader's next read starts after it. */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
}

/** The protocol as a reader of the log drives it, whatever the rows are. */
export interface BatchProtocol {
  readonly epoch: number;
  fence(): number;
  assign(partitions: readonly number[]): Promise<void>;
  /** `behind`: the log holds more of the partition past this read (see Batcher.setBehind). */
  consume(epoch: number, partition: number, messages: readonly LogMessage[], ctl: ReadControl, behind?: boolean): Promise<void>;
  flushAll(): Promise<void>;
}

interface Item<R> {
  epoch: number;
  message: LogMessage;
  rows: R;
}

/** A batch of an epoch that is over: it makes no further commit or INSERT. */
export class FencedError extends Error {
  constructor(partition?: number) {
    super(`${partition === undefined ? 'rows' : `partition ${partition}`}: read under an earlier assignment`);
    this.name = 'FencedError';
  }
}

// Both formats are part of the stored state: a token that changed across an upgrade would store a
// redelivered batch twice, a marker that changed would not be rebuilt.
const PENDING = /^tracehouse:pending:(\d+)-(\d+)$/;

/** The INSERT dedup token of a range of one partition (TelemetrySink suffixes it per table). */
export function dedupToken(topic: string, partition: number, range: OffsetRange): string {
  return `${topic}:${partition}:${range.first}-${range.last}`;
}

export function pendingMetadata(range: OffsetRange): string {
  return `tracehouse:pending:${range.first}-${range.last}`;
}

export function parsePending(metadata: string | null | undefined): OffsetRange | null {
  const m = PENDING.exec(metadata ?? '');
  return m ? { first: BigInt(m[1]!), last: BigInt(m[2]!) } : null;
}

export interface PartitionBatchesOptions<R> {
  topic: string;
  maxRows: number;
  maxDelayMs: number;
  /** INSERTs at once across partitions. */
  maxConcurrentFlushes: number;
  /** Rows a partition buffers or has in flight before its reader waits. */
  maxBufferedRows: number;
  offsets: OffsetStore;
  sink: Pick<BatchSink<R>, 'insert'>;
  rows: RowsKind<R>;
  /** Turns a message into rows; a throw sends the message to the dead-letter topic, except a ConfigError (see fatal). */
  decode: (message: LogMessage) => R;
  /**
   * A decode that shows the configuration is wrong (a ConfigError: the topic holds the other encoding)
   * stops the protocol instead of dead-lettering the topic message by message: nothing more is
   * inserted or committed, and the owner is told once.
   */
  fatal: (err: ConfigError) => void;
  /** Where rows go that the sink refused for good (a PermanentError) or that could not be decoded. */
  deadLetter: (partition: number, message: LogMessage, reason: string, stage: 'decode' | 'clickhouse') => Promise<void>;
  registry: Registry;
  log: Logger;
  /** False once the consumer is stopping: a failing insert then gives up (its offsets stay uncommitted). */
  isRunning: () => boolean;
  timers?: Timers;
  heartbeatEveryMs?: number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export class PartitionBatches<R> implements BatchProtocol {
  private readonly batchers = new Map<number, Batcher<Item<R>>>();
  private readonly lanes: FlushLanes;
  private readonly timers: Timers;
  private currentEpoch = 0;
  /** Set once a decode showed the configuration wrong: nothing more is taken. */
  private halted = false;
  /** Per partition of the current epoch: the next offset to take, once the assignment is read. */
  private readonly cursors = new Map<number, bigint>();
  /** Partitions rebuilding a pending batch: the batch must end exactly at this offset. */
  private readonly replays = new Map<number, OffsetRange>();
  /** The committed marker's range until its rebuilt batch is written: a failed attempt is rebuilt again. */
  private readonly markers = new Map<number, OffsetRange>();
  private readonly batchRows;
  private readonly retries;
  private readonly committed;
  private readonly rebuilt;
  private readonly fenced;

  constructor(private readonly opts: PartitionBatchesOptions<R>) {
    this.timers = opts.timers ?? systemTimers;
    this.lanes = new FlushLanes(opts.maxConcurrentFlushes);
    this.batchRows = opts.registry.histogram('tracehouse_consumer_batch_rows', 'Rows per INSERT batch.', [10, 100, 500, 1000, 5000, 10000, 50000]);
    this.retries = opts.registry.counter('tracehouse_consumer_insert_retries_total', 'INSERT attempts retried after a failure.');
    this.committed = opts.registry.gauge('tracehouse_consumer_committed_offset', 'Next offset committed, per partition.');
    this.rebuilt = opts.registry.counter('tracehouse_consumer_rebuilt_batches_total', 'Pending batches rebuilt after a crash or rebalance (their INSERT may be a dedup hit).');
    this.fenced = opts.registry.counter('tracehouse_consumer_fenced_batches_total', 'Batches stopped because their assignment ended before they were committed.');
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Ends the current epoch: its batches make no further commit or INSERT, buffered rows are
   * dropped (they will be read again), and nothing is taken until assign() has run.
   */
  fence(): number {
    this.currentEpoch++;
    this.cursors.clear();
    this.replays.clear();
    this.markers.clear();
    for (const b of this.batchers.values()) {
      b.discardPending(new FencedError());
      b.hold(false);
    }
    return this.currentEpoch;
  }

  /**
   * A new assignment. Resolves once the partitions' committed offsets are read and the read
   * positions moved there; readers of this epoch wait for it. Settles without effect when a later
   * fence() overtook it.
   */
  async assign(partitions: readonly number[]): Promise<void> {
    const epoch = this.fence();
    // Batches of the previous epoch may still have a commit or an INSERT on the wire: what they
    // leave committed must be known before the positions are read.
    await Promise.all([...this.batchers.values()].map((b) => b.flush().catch(() => undefined)));
    if (epoch !== this.currentEpoch) return;
    const committed = await this.opts.offsets.committed(partitions);
    if (epoch !== this.currentEpoch) return;
    for (const partition of partitions) {
      const c = committed.get(partition) ?? { offset: null, metadata: null };
      if (c.offset === null) continue; // nothing committed: the reader's reset policy decides where to start
      this.cursors.set(partition, c.offset);
      this.opts.offsets.seek(partition, c.offset);
      const range = parsePending(c.metadata);
      // Only a marker at the committed offset is current; anything else was superseded.
      if (range !== null && range.first === c.offset) this.startReplay(partition, range);
    }
  }

  private startReplay(partition: number, range: OffsetRange): void {
    this.replays.set(partition, range);
    this.markers.set(partition, range);
    this.batcher(partition).hold(true);
    this.rebuilt.inc();
    this.opts.log.info('rebuilding pending batch', { partition, first: String(range.first), last: String(range.last) });
  }

  /**
   * Takes one read of a partition, begun in `epoch` (the value of `epoch` when the reader got the
   * messages). Returns early when the read is stale, the epoch over, or the consumer stopping.
   */
  async consume(epoch: number, partition: number, messages: readonly LogMessage[], ctl: ReadControl, behind = false): Promise<void> {
    const current = (): boolean => !this.halted && epoch === this.currentEpoch && this.opts.isRunning() && !ctl.isStale();
    if (current()) this.batcher(partition).setBehind(behind);
    for (const message of messages) {
      if (!current()) return;
      const offset = BigInt(message.offset);
      const cursor = this.cursors.get(partition);
      if (cursor !== undefined && offset < cursor) {
        ctl.resolveOffset(message.offset);
        continue;
      }
      this.cursors.set(partition, offset + 1n);
      let rows: R;
      try {
        rows = this.opts.decode(message);
      } catch (err) {
        if (err instanceof ConfigError) {
          if (!this.halted) this.opts.fatal(err);
          this.halted = true;
          this.fence();
          return;
        }
        await this.opts.deadLetter(partition, message, (err as Error).message, 'decode');
        if (!current()) return;
        rows = this.opts.rows.empty();
      }
      const replay = this.replays.get(partition);
      if (replay !== undefined && offset > replay.last) {
        await this.waitWithHeartbeat(this.endReplay(partition), ctl);
        if (!current()) return;
      }
      const b = this.batcher(partition);
      void b.add([{ epoch, message, rows }]);
      ctl.resolveOffset(message.offset);
      if (replay !== undefined && offset === replay.last) await this.waitWithHeartbeat(this.endReplay(partition), ctl);
      // Bound memory: wait until this partition's rows in flight are inserted before reading more.
      // Not while rebuilding: the held batch is inserted only once its range is complete, and the
      // range (cut by an owner whose bound may have been larger) is bounded by what that owner buffered.
      else if (replay === undefined) while (this.overloaded(partition) && current()) await this.waitWithHeartbeat(b.settled(), ctl);
    }
  }

  /** Flushes the rebuilt batch, exactly as it was, and returns the partition to size/time batching. */
  private endReplay(partition: number): Promise<void> {
    this.replays.delete(partition);
    const b = this.batcher(partition);
    const flushed = b.flush();
    b.hold(false);
    return flushed;
  }

  /** Rows buffered or in flight up to the limit: the reader waits before taking more. */
  private overloaded(partition: number): boolean {
    return (this.batchers.get(partition)?.backlog ?? 0) >= this.opts.maxBufferedRows;
  }

  /** A reader has no background heartbeat (kafkajs): keep the membership alive while an INSERT is slow. */
  private async waitWithHeartbeat(p: Promise<void>, ctl: ReadControl): Promise<void> {
    const every = this.opts.heartbeatEveryMs ?? 3000;
    let timer: unknown = null;
    const beat = (): void => {
      timer = this.timers.setTimeout(() => {
        void ctl.heartbeat().catch(() => undefined);
        beat();
      }, every);
    };
    beat();
    try {
      await p.catch(() => undefined);
    } finally {
      this.timers.clearTimeout(timer);
    }
  }

  /** Flushes and commits everything buffered (on shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.flush()));
  }

  private batcher(partition: number): Batcher<Item<R>> {
    let b = this.batchers.get(partition);
    if (b === undefined) {
      b = new Batcher<Item<R>>({
        maxWeight: this.opts.maxRows,
        maxDelayMs: this.opts.maxDelayMs,
        weight: (item) => Math.max(1, this.opts.rows.count(item.rows)),
        flush: (items) => this.writeBatch(partition, items),
        lanes: this.lanes,
        timers: this.timers,
      });
      this.batchers.set(partition, b);
    }
    return b;
  }

  private async writeBatch(partition: number, items: Item<R>[]): Promise<void> {
    const epoch = items[0]!.epoch;
    const range: OffsetRange = { first: BigInt(items[0]!.message.offset), last: BigInt(items[items.length - 1]!.message.offset) };
    const live = (): void => {
      if (epoch !== this.currentEpoch) throw new FencedError(partition);
    };
    let pendingCommitted = false;
    try {
      live();
      await this.opts.offsets.commit(partition, range.first, pendingMetadata(range));
      pendingCommitted = true;
      failpoint('batch-before-insert');
      live();
      await this.insertBatch(partition, range, items, live);
      failpoint('batch-after-insert');
      live();
      await this.opts.offsets.commit(partition, range.last + 1n, '');
      failpoint('batch-after-commit');
    } catch (err) {
      if (epoch !== this.currentEpoch) {
        // The next assignment reads whatever this batch left committed and rebuilds from there.
        this.fenced.inc();
        this.opts.log.info('batch fenced by a new assignment', { partition, first: String(range.first), last: String(range.last), err });
      } else {
        // Later batches must not commit past this one: drop them and read the partition again from
        // here, rebuilding this exact range if its pending marker was committed.
        this.batcher(partition).discardPending(new Error('an earlier batch of this partition failed'));
        const marker = this.markers.get(partition);
        if (pendingCommitted || (marker !== undefined && marker.first === range.first && marker.last === range.last)) this.startReplay(partition, range);
        this.cursors.set(partition, range.first);
        this.opts.offsets.seek(partition, range.first);
      }
      throw err;
    }
    this.markers.delete(partition);
    this.batchRows.observe({}, items.reduce((n, i) => n + this.opts.rows.count(i.rows), 0));
    this.committed.set({ topic: this.opts.topic, partition: String(partition) }, Number(range.last + 1n));
  }

  /** One INSERT for the batch; if ClickHouse rejects the data, message by message, dead-lettering the rejected ones. */
  private async insertBatch(partition: number, range: OffsetRange, items: Item<R>[], live: () => void): Promise<void> {
    try {
      await this.insertWithRetry(this.opts.rows.merge(items.map((i) => i.rows)), dedupToken(this.opts.topic, partition, range), partition, live);
      return;
    } catch (err) {
      if (!isPermanent(err)) throw err;
      this.opts.log.warn('batch rejected by ClickHouse; inserting message by message', { partition, first: String(range.first), last: String(range.last), err });
    }
    for (const item of items) {
      const offset = BigInt(item.message.offset);
      try {
        await this.insertWithRetry(item.rows, dedupToken(this.opts.topic, partition, { first: offset, last: offset }), partition, live);
      } catch (err) {
        if (!isPermanent(err)) throw err;
        await this.opts.deadLetter(partition, item.message, (err as Error).message, 'clickhouse');
      }
    }
  }

  /** Retries failures that may pass (ClickHouse down, too many parts) with backoff; data errors are thrown at once. */
  private async insertWithRetry(rows: R, token: string, partition: number, live: () => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      live();
      try {
        await this.opts.sink.insert(rows, token);
        return;
      } catch (err) {
        if (isPermanent(err) || !this.opts.isRunning()) throw err;
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        this.retries.inc();
        this.opts.log.warn('insert failed; retrying', { partition, token, attempt: attempt + 1, wait_ms: wait, err });
        await new Promise((r) => this.timers.setTimeout(() => r(undefined), wait));
      }
    }
  }
}
