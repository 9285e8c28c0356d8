// Size-or-time batcher: items accumulate until their weight reaches maxWeight or the oldest has
// waited maxDelayMs, whichever comes first; then one flush runs. Flushes never overlap, so a caller
// that commits after each flush (Kafka offsets) commits in order. add() resolves once the flush
// holding those items has succeeded and rejects if it failed: callers ack only then.
// A batch due while a flush runs stays open and keeps growing until that flush ends: under load that
// turns many small INSERTs into few large ones (each INSERT has a fixed cost in ClickHouse: parts, views).
// A caller reading a backlog (a Kafka partition that lags) marks the batcher behind: the time rule
// then waits BEHIND_DELAY_FACTOR times longer, so batches fill to their size while there is data to
// fill them (the rows are late anyway) instead of leaving by the clock at a fraction of it.

/** How much longer the time rule waits while the caller reads a backlog. */
export const BEHIND_DELAY_FACTOR = 10;

/** The clock a batcher reads; a model test drives a virtual one. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BatcherOptions<T> {
  maxWeight: number;
  maxDelayMs: number;
  weight: (item: T) => number;
  flush: (items: T[]) => Promise<void>;
  timers?: Timers;
}

interface PendingBatch<T> {
  items: T[];
  weight: number;
  openedAt: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Batcher<T> {
  private pending: PendingBatch<T> | null = null;
  private inFlight: Promise<void> | null = null;
  private inFlightWeight = 0;
  private timer: unknown = null;
  private readonly timers: Timers;
  private closed = false;
  /** While held, neither size nor time flushes the pending batch; flush() still does. */
  private held = false;
  private behind = false;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.timers = opts.timers ?? systemTimers;
  }

  /** Weight buffered or being flushed: what a caller limits to bound memory. */
  get backlog(): number {
    return (this.pending?.weight ?? 0) + this.inFlightWeight;
  }

  add(items: T[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('batcher is closed'));
    const batch = (this.pending ??= this.open());
    for (const item of items) {
      batch.items.push(item);
      batch.weight += this.opts.weight(item);
    }
    if (batch.weight >= this.opts.maxWeight) this.kick();
    else this.arm();
    return batch.done;
  }

  /** The caller is reading a backlog (true) or has caught up (false): see BEHIND_DELAY_FACTOR. */
  setBehind(behind: boolean): void {
    if (behind === this.behind) return;
    this.behind = behind;
    this.disarm();
    if (this.pending !== null) this.kick();
  }

  /** Settles when the flush running now ends, or else the pending batch's: what a caller bounding its backlog waits for. */
  settled(): Promise<void> {
    return (this.inFlight ?? this.pending?.done ?? Promise.resolve()).catch(() => undefined);
  }

  /** Holds the pending batch open (hold = true) or releases it to the size/time rules again. */
  hold(held: boolean): void {
    this.held = held;
    if (held) this.disarm();
    else if (this.pending !== null) this.kick();
  }

  /** Flushes whatever is buffered now and waits for it and any flush in progress. */
  async flush(): Promise<void> {
    while (this.pending !== null || this.inFlight !== null) {
      if (this.inFlight !== null) await this.inFlight;
      else this.kick(true);
    }
  }

  /** Drops the buffered batch (its add() promises reject): used when the data will be read again. */
  discardPending(reason: Error): void {
    const batch = this.pending;
    this.pending = null;
    this.disarm();
    batch?.reject(reason);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.disarm();
  }

  private open(): PendingBatch<T> {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that does not await add() must not turn a failed flush into an unhandled rejection.
    done.catch(() => undefined);
    return { items: [], weight: 0, openedAt: this.timers.now(), done, resolve, reject };
  }

  private get maxDelayMs(): number {
    return this.behind ? this.opts.maxDelayMs * BEHIND_DELAY_FACTOR : this.opts.maxDelayMs;
  }

  private arm(): void {
    if (this.held || this.timer !== null || this.pending === null) return;
    const wait = Math.max(0, this.pending.openedAt + this.maxDelayMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.kick(true);
    }, wait);
  }

  private disarm(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts a flush of the pending batch when it is due and none is running. */
  private kick(force = false): void {
    const batch = this.pending;
    if (this.inFlight !== null || batch === null || (this.held && !force)) return;
    if (!force && batch.weight < this.opts.maxWeight && this.timers.now() - batch.openedAt < this.maxDelayMs) return this.arm();
    this.disarm();
    this.inFlight = Promise.resolve()
      .then(() => this.flushPending(force))
      .finally(() => {
        this.inFlight = null;
        this.inFlightWeight = 0;
        if (this.pending !== null) this.kick();
      });
  }

  /** The batch is cut here, a turn of the event loop after it was due: what arrived meanwhile goes with it. */
  private async flushPending(forced: boolean): Promise<void> {
    const batch = this.pending;
    // Held meanwhile (a batch being rebuilt exactly): only a forced flush may cut it.
    if (batch === null || (this.held && !forced)) return;
    this.pending = null;
    this.disarm();
    this.inFlightWeight = batch.weight;
    await this.opts.flush(batch.items).then(batch.resolve, batch.reject);
  }
}
