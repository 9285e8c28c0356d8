// The exactly-once batch protocol between a partitioned log (Kafka) and ClickHouse. A consumer cuts
// one batch at a time from every partition it owns, so a batch is one contiguous offset range per
// partition it holds rows of, and its INSERTs carry the dedup token naming all of them
// (topic:partition:first-last,...). A batch is written in three steps:
//   1. commit offset `first` of each of its partitions, each with the batch's marker
//      "tracehouse:pending:partition:first-last,..." (the batch is now fixed),
//   2. INSERT with the token (retried with backoff while it fails; nothing is committed meanwhile),
//   3. commit offset `last + 1` of each of its partitions.
// Each step's commits go in one OffsetCommit request, which the group coordinator appends to
// __consumer_offsets as one write: every partition of the batch holds the marker, or none does.
//
// Whoever owns a partition next reads its committed offset; a marker at it names a batch that may be
// in ClickHouse in part or in full. The new owner rebuilds that batch exactly, reading each range
// outside its assignment (OffsetStore.read: the batch's other partitions may belong to another member
// now), inserts it under the same token and commits its own partitions of it: an INSERT that had
// landed is dropped by ClickHouse (token dedup on spans_raw, events_raw and every rollup), one that
// had not lands now, and each member holding a partition of the batch does the same, the second
// INSERT being a dedup hit. A batch whose first commit failed is written again exactly as it was,
// never cut anew: its marker may be stored although the answer was lost.
//
// That rule holds only if what the next owner reads is final. So every assignment is an epoch:
// `fence()` (on rebalance, crash, or a new assignment) stops every batch of the previous epoch from
// committing or inserting again and drops buffered rows; `assign()` then waits until the previous
// epoch's batches have settled, reads the committed offsets, and moves the read position of every
// partition to them. Messages are taken only from readers of the current epoch, in offset order
// from that position, and no batch of a partition is written before its rebuilt one.
import type { BatchSink, RowsKind } from '../../component/component.js';
import { Batcher, type Timers, systemTimers } from '../../shared/batcher.js';
import { ConfigError } from '../../shared/config-error.js';
import { isPermanent } from '../../shared/errors.js';
import { failpoint } from '../../shared/failpoint.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';

export interface OffsetRange {
  first: bigint;
  last: bigint;
}

/** A batch's offset range in one partition. */
export interface PartitionRange extends OffsetRange {
  partition: number;
}

/** A partition's committed position: null offset = nothing committed yet. */
export interface Committed {
  offset: bigint | null;
  metadata: string | null;
}

export interface OffsetCommit {
  partition: number;
  offset: bigint;
  metadata: string;
}

/** The consumer group's offset storage and the log, as the protocol needs them. */
export interface OffsetStore {
  /** One request: resolves only once the group coordinator stored all of them; rejects otherwise. */
  commit(offsets: readonly OffsetCommit[]): Promise<void>;
  committed(partitions: readonly number[]): Promise<Map<number, Committed>>;
  /** The next read of the partition starts at `offset`; reads already under way become stale. */
  seek(partition: number, offset: bigint): void;
  /** The messages of each range, in offset order, whoever owns the partitions now. */
  read(ranges: readonly PartitionRange[]): Promise<Map<number, LogMessage[]>>;
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
  partition: number;
  message: LogMessage;
  rows: R;
}

/** A batch of an epoch that is over: it makes no further commit or INSERT. */
export class FencedError extends Error {
  constructor() {
    super('batch read under an earlier assignment');
    this.name = 'FencedError';
  }
}

// Both formats are part of the stored state: a token that changed across an upgrade would store a
// redelivered batch twice, a marker that changed would not be rebuilt. A marker without partitions
// (written by versions that cut a batch per partition) names a range of the partition holding it.
const PENDING = /^tracehouse:pending:(\d+:\d+-\d+(?:,\d+:\d+-\d+)*)$/;
const PENDING_ONE_PARTITION = /^tracehouse:pending:(\d+)-(\d+)$/;
const RANGE = /^(\d+):(\d+)-(\d+)$/;

/**
 * The most partitions in one batch: its marker, stored with each of them, must stay under the
 * broker's offset.metadata.max.bytes (4096 by default; 64 ranges of the largest offsets take 3.3k).
 */
export const MAX_BATCH_PARTITIONS = 64;

export function rangesText(ranges: readonly PartitionRange[]): string {
  return ranges.map((r) => `${r.partition}:${r.first}-${r.last}`).join(',');
}

/** The INSERT dedup token of a batch (TelemetrySink suffixes it per table). */
export function dedupToken(topic: string, ranges: readonly PartitionRange[]): string {
  return `${topic}:${rangesText(ranges)}`;
}

export function pendingMetadata(ranges: readonly PartitionRange[]): string {
  return `tracehouse:pending:${rangesText(ranges)}`;
}

/** The batch a marker names, as committed on `partition`; null for anything that is no marker. */
export function parsePending(metadata: string | null | undefined, partition: number): PartitionRange[] | null {
  const old = PENDING_ONE_PARTITION.exec(metadata ?? '');
  if (old) return [{ partition, first: BigInt(old[1]!), last: BigInt(old[2]!) }];
  const m = PENDING.exec(metadata ?? '');
  if (!m) return null;
  const ranges = m[1]!.split(',').map((text) => {
    const [, p, first, last] = RANGE.exec(text)!;
    return { partition: Number(p), first: BigInt(first!), last: BigInt(last!) };
  });
  const ordered = ranges.every((r, i) => i === 0 || r.partition > ranges[i - 1]!.partition);
  return ordered && ranges.some((r) => r.partition === partition) ? ranges : null;
}

export interface PartitionBatchesOptions<R> {
  topic: string;
  maxRows: number;
  maxDelayMs: number;
  /** Rows buffered or in flight before the readers wait. */
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
  private readonly batcher: Batcher<Item<R>>;
  private readonly timers: Timers;
  private currentEpoch = 0;
  /** Set once a decode showed the configuration wrong: nothing more is taken. */
  private halted = false;
  /** Per partition of the current epoch: the next offset to take, once the assignment is read. */
  private readonly cursors = new Map<number, bigint>();
  /** Per partition of the current epoch: where its next batch starts (all before it is written, or being rebuilt). */
  private readonly unwritten = new Map<number, bigint>();
  /** Partitions of the current epoch whose pending batch is not written yet: no later batch of theirs may go first. */
  private readonly rebuilding = new Set<number>();
  /** Rebuilds of any epoch that have not settled: a new assignment waits for what they leave committed. */
  private readonly rebuilds = new Set<Promise<void>>();
  /** Partitions whose last read showed a backlog behind it. */
  private readonly lagging = new Set<number>();
  private readonly batchRows;
  private readonly batchPartitions;
  private readonly retries;
  private readonly committed;
  private readonly rebuilt;
  private readonly fenced;

  constructor(private readonly opts: PartitionBatchesOptions<R>) {
    this.timers = opts.timers ?? systemTimers;
    this.batcher = new Batcher<Item<R>>({
      maxWeight: opts.maxRows,
      maxDelayMs: opts.maxDelayMs,
      weight: (item) => Math.max(1, opts.rows.count(item.rows)),
      flush: (items) => this.writeBatch(items),
      timers: this.timers,
    });
    this.batchRows = opts.registry.histogram('tracehouse_consumer_batch_rows', 'Rows per INSERT batch.', [10, 100, 500, 1000, 5000, 10000, 50000]);
    this.batchPartitions = opts.registry.histogram('tracehouse_consumer_batch_partitions', 'Partitions per INSERT batch.', [1, 2, 4, 8, 16, 32, 64]);
    this.retries = opts.registry.counter('tracehouse_consumer_insert_retries_total', 'INSERT attempts retried after a failure.');
    this.committed = opts.registry.gauge('tracehouse_consumer_committed_offset', 'Next offset committed, per partition.');
    this.rebuilt = opts.registry.counter('tracehouse_consumer_rebuilt_batches_total', 'Pending batches rebuilt after a crash, a rebalance or a failed commit (their INSERT may be a dedup hit).');
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
    this.unwritten.clear();
    this.rebuilding.clear();
    this.lagging.clear();
    this.batcher.discardPending(new FencedError());
    this.batcher.hold(false);
    this.batcher.setBehind(false);
    return this.currentEpoch;
  }

  /**
   * A new assignment. Resolves once the partitions' committed offsets are read, the read positions
   * moved there and the rebuilds of pending batches started; readers of this epoch wait for it.
   * Settles without effect when a later fence() overtook it.
   */
  async assign(partitions: readonly number[]): Promise<void> {
    const epoch = this.fence();
    // Batches of the previous epoch may still have a commit or an INSERT on the wire: what they
    // leave committed must be known before the positions are read.
    await Promise.all([this.batcher.flush().catch(() => undefined), ...this.rebuilds]);
    if (epoch !== this.currentEpoch) return;
    const committed = await this.opts.offsets.committed(partitions);
    if (epoch !== this.currentEpoch) return;
    const pending = new Map<string, { ranges: PartitionRange[]; owned: number[] }>();
    for (const partition of partitions) {
      const c = committed.get(partition) ?? { offset: null, metadata: null };
      if (c.offset === null) continue; // nothing committed: the reader's reset policy decides where to start
      let next = c.offset;
      const ranges = parsePending(c.metadata, partition);
      const own = ranges?.find((r) => r.partition === partition);
      // Only a marker at the committed offset is current; anything else was superseded.
      if (ranges && own && own.first === c.offset) {
        const marker = pendingMetadata(ranges);
        const batch = pending.get(marker) ?? { ranges, owned: [] };
        batch.owned.push(partition);
        pending.set(marker, batch);
        next = own.last + 1n;
      }
      // Read from the committed offset even when a rebuild holds what follows it (the cursor skips
      // that): a read position never moves past what is committed (see writeBatch).
      this.cursors.set(partition, next);
      this.unwritten.set(partition, next);
      this.opts.offsets.seek(partition, c.offset);
    }
    for (const { ranges, owned } of pending.values()) this.rebuild(epoch, ranges, owned, null);
  }

  /**
   * Writes a pending batch again, exactly as it was: `items` when they are at hand, else read from
   * the log. `owned` are the partitions it commits (the others are their owners' to commit).
   * Later batches of those partitions wait until it is written.
   */
  private rebuild(epoch: number, ranges: readonly PartitionRange[], owned: readonly number[], items: Item<R>[] | null): void {
    for (const p of owned) this.rebuilding.add(p);
    this.batcher.hold(true);
    this.rebuilt.inc();
    this.opts.log.info('rebuilding pending batch', { batch: rangesText(ranges), partitions: owned });
    const task = this.writeRebuilt(epoch, ranges, owned, items).then((written) => {
      this.rebuilds.delete(task);
      if (!written || epoch !== this.currentEpoch) return;
      for (const p of owned) this.rebuilding.delete(p);
      if (this.rebuilding.size === 0) this.batcher.hold(false);
    });
    this.rebuilds.add(task);
  }

  /** True once written; false when its epoch ended or the consumer stopped first (it stays pending for the next owner). */
  private async writeRebuilt(epoch: number, ranges: readonly PartitionRange[], owned: readonly number[], items: Item<R>[] | null): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (epoch !== this.currentEpoch || this.halted || !this.opts.isRunning()) return false;
      try {
        items ??= await this.readBatch(epoch, ranges, owned);
        if (items === null) return false;
        await this.write(epoch, ranges, owned, items);
        return true;
      } catch (err) {
        if (epoch !== this.currentEpoch || !this.opts.isRunning()) {
          this.fenced.inc();
          this.opts.log.info('rebuilt batch stopped by a new assignment or shutdown', { batch: rangesText(ranges), err });
          return false;
        }
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        this.opts.log.warn('writing a rebuilt batch failed; retrying', { batch: rangesText(ranges), attempt: attempt + 1, wait_ms: wait, err });
        await new Promise((r) => this.timers.setTimeout(() => r(undefined), wait));
      }
    }
  }

  /**
   * The batch's messages from the log, decoded as when they were first read; null once halted.
   * Undecodable ones are dead-lettered only for `owned` partitions: each owner rebuilds the batch.
   */
  private async readBatch(epoch: number, ranges: readonly PartitionRange[], owned: readonly number[]): Promise<Item<R>[] | null> {
    const messages = await this.opts.offsets.read(ranges);
    const items: Item<R>[] = [];
    for (const { partition, first, last } of ranges) {
      for (const message of messages.get(partition) ?? []) {
        const offset = BigInt(message.offset);
        if (offset < first || offset > last) continue;
        const decoded = this.decode(message);
        if (decoded === null) return null;
        if ('error' in decoded && owned.includes(partition)) await this.opts.deadLetter(partition, message, decoded.error, 'decode');
        items.push({ epoch, partition, message, rows: 'rows' in decoded ? decoded.rows : this.opts.rows.empty() });
      }
    }
    return items;
  }

  /**
   * Takes one read of a partition, begun in `epoch` (the value of `epoch` when the reader got the
   * messages). Returns early when the read is stale, the epoch over, or the consumer stopping.
   */
  async consume(epoch: number, partition: number, messages: readonly LogMessage[], ctl: ReadControl, behind = false): Promise<void> {
    const current = (): boolean => !this.halted && epoch === this.currentEpoch && this.opts.isRunning() && !ctl.isStale();
    if (current()) {
      if (behind) this.lagging.add(partition);
      else this.lagging.delete(partition);
      this.batcher.setBehind(this.lagging.size > 0);
    }
    for (const message of messages) {
      if (!current()) return;
      const offset = BigInt(message.offset);
      const cursor = this.cursors.get(partition);
      if (cursor !== undefined && offset < cursor) {
        ctl.resolveOffset(message.offset);
        continue;
      }
      this.cursors.set(partition, offset + 1n);
      if (!this.unwritten.has(partition)) this.unwritten.set(partition, offset);
      const decoded = this.decode(message);
      if (decoded === null) return;
      if ('error' in decoded) {
        await this.opts.deadLetter(partition, message, decoded.error, 'decode');
        if (!current()) return;
      }
      const rows = 'rows' in decoded ? decoded.rows : this.opts.rows.empty();
      void this.batcher.add([{ epoch, partition, message, rows }]);
      ctl.resolveOffset(message.offset);
      // Bound memory: wait until rows in flight are inserted before reading more.
      while (this.batcher.backlog >= this.opts.maxBufferedRows && current()) await this.waitWithHeartbeat(this.batcher.settled(), ctl);
    }
  }

  /** The message's rows, or why it cannot be decoded (it goes to the dead-letter topic); null once a ConfigError halted the protocol. */
  private decode(message: LogMessage): { rows: R } | { error: string } | null {
    try {
      return { rows: this.opts.decode(message) };
    } catch (err) {
      if (!(err instanceof ConfigError)) return { error: (err as Error).message };
      if (!this.halted) this.opts.fatal(err);
      this.halted = true;
      this.fence();
      return null;
    }
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

  /** Writes and commits everything buffered (on shutdown); rows behind an unwritten rebuild are left to the next owner. */
  async flushAll(): Promise<void> {
    await Promise.all(this.rebuilds);
    if (this.rebuilding.size > 0) {
      this.opts.log.warn('a pending batch is not written yet; leaving it and the rows after it to the next owner', { partitions: [...this.rebuilding] });
      this.batcher.discardPending(new Error('left to the next owner'));
    }
    await this.batcher.flush();
  }

  /** A batch the batcher cut: one write per MAX_BATCH_PARTITIONS partitions. */
  private async writeBatch(items: Item<R>[]): Promise<void> {
    const epoch = items[0]!.epoch;
    for (const part of splitByPartition(items)) {
      const partitions = part.ranges.map((r) => r.partition);
      try {
        await this.write(epoch, part.ranges, partitions, part.items);
      } catch (err) {
        if (epoch !== this.currentEpoch) {
          // The next assignment reads whatever this batch left committed and rebuilds from there.
          this.fenced.inc();
          this.opts.log.info('batch fenced by a new assignment', { batch: rangesText(part.ranges), err });
        } else {
          // Everything after this batch is read again; the batch itself is written again exactly.
          // Its partitions are read again from its first offsets, the cursors skipping what it
          // holds: a read position is never moved past what is committed, so a seek that outlives
          // this epoch (a partition with nothing committed, which the next assignment does not
          // move) cannot skip rows.
          this.batcher.discardPending(new Error('an earlier batch failed'));
          for (const [partition, next] of this.unwritten) {
            this.cursors.set(partition, next);
            this.opts.offsets.seek(partition, next);
          }
          for (const r of part.ranges) {
            this.cursors.set(r.partition, r.last + 1n);
            this.unwritten.set(r.partition, r.last + 1n);
          }
          this.rebuild(epoch, part.ranges, partitions, part.items);
        }
        throw err;
      }
    }
  }

  /** The three steps; commits only `owned` partitions of the batch. */
  private async write(epoch: number, ranges: readonly PartitionRange[], owned: readonly number[], items: Item<R>[]): Promise<void> {
    const live = (): void => {
      if (epoch !== this.currentEpoch) throw new FencedError();
    };
    const mine = ranges.filter((r) => owned.includes(r.partition));
    const marker = pendingMetadata(ranges);
    live();
    await this.opts.offsets.commit(mine.map((r) => ({ partition: r.partition, offset: r.first, metadata: marker })));
    failpoint('batch-before-insert');
    live();
    await this.insertBatch(ranges, items, live);
    failpoint('batch-after-insert');
    live();
    await this.opts.offsets.commit(mine.map((r) => ({ partition: r.partition, offset: r.last + 1n, metadata: '' })));
    failpoint('batch-after-commit');
    this.batchRows.observe({}, items.reduce((n, i) => n + this.opts.rows.count(i.rows), 0));
    this.batchPartitions.observe({}, ranges.length);
    for (const r of mine) {
      if (epoch === this.currentEpoch) this.unwritten.set(r.partition, r.last + 1n);
      this.committed.set({ topic: this.opts.topic, partition: String(r.partition) }, Number(r.last + 1n));
    }
  }

  /** One INSERT for the batch; if ClickHouse rejects the data, message by message, dead-lettering the rejected ones. */
  private async insertBatch(ranges: readonly PartitionRange[], items: Item<R>[], live: () => void): Promise<void> {
    try {
      await this.insertWithRetry(this.opts.rows.merge(items.map((i) => i.rows)), dedupToken(this.opts.topic, ranges), live);
      return;
    } catch (err) {
      if (!isPermanent(err)) throw err;
      this.opts.log.warn('batch rejected by ClickHouse; inserting message by message', { batch: rangesText(ranges), err });
    }
    for (const item of items) {
      const offset = BigInt(item.message.offset);
      try {
        await this.insertWithRetry(item.rows, dedupToken(this.opts.topic, [{ partition: item.partition, first: offset, last: offset }]), live);
      } catch (err) {
        if (!isPermanent(err)) throw err;
        await this.opts.deadLetter(item.partition, item.message, (err as Error).message, 'clickhouse');
      }
    }
  }

  /** Retries failures that may pass (ClickHouse down, too many parts) with backoff; data errors are thrown at once. */
  private async insertWithRetry(rows: R, token: string, live: () => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      live();
      try {
        await this.opts.sink.insert(rows, token);
        return;
      } catch (err) {
        if (isPermanent(err) || !this.opts.isRunning()) throw err;
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        this.retries.inc();
        this.opts.log.warn('insert failed; retrying', { token, attempt: attempt + 1, wait_ms: wait, err });
        await new Promise((r) => this.timers.setTimeout(() => r(undefined), wait));
      }
    }
  }
}

/** A batch's items as batches of at most MAX_BATCH_PARTITIONS partitions, each with its ranges in partition order. */
function splitByPartition<R>(items: Item<R>[]): Array<{ ranges: PartitionRange[]; items: Item<R>[] }> {
  const byPartition = new Map<number, Item<R>[]>();
  for (const item of items) {
    let list = byPartition.get(item.partition);
    if (list === undefined) byPartition.set(item.partition, (list = []));
    list.push(item);
  }
  const partitions = [...byPartition.keys()].sort((a, b) => a - b);
  const parts: Array<{ ranges: PartitionRange[]; items: Item<R>[] }> = [];
  for (let i = 0; i < partitions.length; i += MAX_BATCH_PARTITIONS) {
    const part = { ranges: [] as PartitionRange[], items: [] as Item<R>[] };
    for (const partition of partitions.slice(i, i + MAX_BATCH_PARTITIONS)) {
      const list = byPartition.get(partition)!;
      part.ranges.push({ partition, first: BigInt(list[0]!.message.offset), last: BigInt(list[list.length - 1]!.message.offset) });
      part.items.push(...list);
    }
    parts.push(part);
  }
  return parts;
}
