// The exactly-once batch protocol (PartitionBatches) at each crash point, one by one, over a fake
// log and a fake ClickHouse that keeps dedup tokens as ClickHouse does. The first owner of the
// partition dies at the named point (its request never answers, as after a SIGKILL; "applied"
// means the request took effect first); a second owner takes the partition over from what is
// committed. Every offset must be stored exactly once and the whole log committed. The seeded
// model test (exactly-once-model.test.ts) covers these points in random combinations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchSink } from '../../services/component/component.js';
import { type Committed, type LogMessage, type OffsetCommit, type OffsetStore, PartitionBatches, type PartitionBatchesOptions, type PartitionRange, type ReadControl, dedupToken, pendingMetadata } from '../../services/receivers/kafka/partition-batches.js';
import type { Timers } from '../../services/shared/batcher.js';
import { ConfigError } from '../../services/shared/config-error.js';
import { PermanentError } from '../../services/shared/errors.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';

const TOPIC = 'spans';
const MESSAGES = 10;
// The first batch grows to 0-7 while its flush waits for a lane; the reader then waits while two
// batches' worth is buffered or in flight, until that flush ends, so the next one is 8-9. The crash
// points hit batch 1, 8-9.
const BATCH = 4;
const CRASHED = [{ partition: 0, first: 8n, last: 9n }];

type Step = 'marker' | 'insert' | 'final';
/** Where the first owner dies: before or after the request of that step took effect. */
type CrashPoint = { step: Step; applied: boolean; batch: number };

class FakeLog implements OffsetStore {
  readonly commits: Array<{ offset: bigint; metadata: string }> = [];
  private stored: Committed = { offset: null, metadata: null };
  position = 0n;

  constructor(private readonly crash: () => ((step: Step, apply: () => void) => Promise<void>) | null) {}

  async commit(offsets: readonly OffsetCommit[]): Promise<void> {
    assert.deepEqual(offsets.map((o) => o.partition), [0]);
    const { offset, metadata } = offsets[0]!;
    const apply = (): void => {
      this.stored = { offset, metadata };
      this.commits.push({ offset, metadata });
    };
    const hook = this.crash();
    if (hook) return hook(metadata === '' ? 'final' : 'marker', apply);
    apply();
  }

  async committed(): Promise<Map<number, Committed>> {
    return new Map([[0, this.stored]]);
  }

  seek(_partition: number, offset: bigint): void {
    this.position = offset;
  }

  async read(ranges: readonly PartitionRange[]): Promise<Map<number, LogMessage[]>> {
    return new Map(ranges.map((r) => [r.partition, messages(r.first).filter((m) => BigInt(m.offset) <= r.last)]));
  }

  get committedOffset(): bigint | null {
    return this.stored.offset;
  }
}

class FakeClickHouse implements Pick<BatchSink<number[]>, 'insert'> {
  readonly rows: number[] = [];
  readonly tokens: string[] = [];
  dedupHits = 0;

  constructor(private readonly crash: () => ((step: Step, apply: () => void) => Promise<void>) | null) {}

  async insert(rows: number[], token: string): Promise<void> {
    const apply = (): void => {
      if (this.tokens.includes(token)) {
        this.dedupHits++;
        return;
      }
      this.tokens.push(token);
      this.rows.push(...rows);
    };
    const hook = this.crash();
    if (hook) return hook('insert', apply);
    apply();
  }
}

const messages = (from: bigint): LogMessage[] => Array.from({ length: MESSAGES - Number(from) }, (_, i) => ({ offset: String(Number(from) + i), key: null, value: null }));

/** Timers that a SIGKILL stops: the dead owner's batch and heartbeat timers must not keep this process alive. */
function killableTimers(): { timers: Timers; kill(): void } {
  const handles = new Set<NodeJS.Timeout>();
  let dead = false;
  return {
    timers: {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        if (dead) return null;
        const h = setTimeout(() => {
          handles.delete(h);
          fn();
        }, ms);
        handles.add(h);
        return h;
      },
      clearTimeout: (h) => {
        clearTimeout(h as NodeJS.Timeout);
        handles.delete(h as NodeJS.Timeout);
      },
    },
    kill: () => {
      dead = true;
      for (const h of handles) clearTimeout(h);
      handles.clear();
    },
  };
}

function owner(log: FakeLog, sink: Pick<BatchSink<number[]>, 'insert'>, registry: Registry, running: () => boolean, timers?: Timers, overrides: Partial<PartitionBatchesOptions<number[]>> = {}): PartitionBatches<number[]> {
  return new PartitionBatches<number[]>({
    timers,
    topic: TOPIC,
    maxRows: BATCH,
    maxDelayMs: 20,
    maxBufferedRows: 2 * BATCH,
    offsets: log,
    sink,
    rows: { empty: () => [], count: (r) => r.length, merge: (rs) => rs.flat() },
    decode: (m) => [Number(m.offset)],
    deadLetter: async () => undefined,
    fatal: (err) => assert.fail(err),
    registry,
    log: createLogger('crash-points', 100),
    isRunning: running,
    ...overrides,
  });
}

async function read(batches: PartitionBatches<number[]>, log: FakeLog): Promise<void> {
  let stale = false;
  const from = log.position;
  const ctl: ReadControl = { isStale: () => stale, resolveOffset: () => undefined, heartbeat: async () => undefined };
  await batches.consume(batches.epoch, 0, messages(from), ctl);
  stale = true;
}

/** Runs the first owner until it dies at `point`, then a second owner to the end; returns the fakes. */
async function crashAt(point: CrashPoint): Promise<{ log: FakeLog; clickhouse: FakeClickHouse; rebuilt: number; markersBefore: string[] }> {
  let dead = false;
  let died: () => void = () => undefined;
  const death = new Promise<void>((r) => (died = r));
  const seen: Record<Step, number> = { marker: 0, insert: 0, final: 0 };
  const hook = () =>
    dead
      ? null
      : (step: Step, apply: () => void): Promise<void> => {
          if (seen[step]++ !== point.batch || step !== point.step) {
            apply();
            return Promise.resolve();
          }
          if (point.applied) apply();
          dead = true;
          died();
          return new Promise(() => undefined);
        };
  const log = new FakeLog(hook);
  const clickhouse = new FakeClickHouse(hook);

  let firstRunning = true;
  const firstTimers = killableTimers();
  const first = owner(log, clickhouse, new Registry(), () => firstRunning, firstTimers.timers);
  await first.assign([0]);
  void read(first, log);
  await death;
  // SIGKILL: nothing more from this owner.
  firstRunning = false;
  firstTimers.kill();
  const markersBefore = log.commits.filter((c) => c.metadata !== '').map((c) => c.metadata);

  const registry = new Registry();
  const second = owner(log, clickhouse, registry, () => true);
  await second.assign([0]);
  await read(second, log);
  await second.flushAll();
  const rebuilt = Number(/tracehouse_consumer_rebuilt_batches_total (\d+)/.exec(registry.render())?.[1] ?? 0);
  return { log, clickhouse, rebuilt, markersBefore };
}

function assertExactlyOnce(r: { log: FakeLog; clickhouse: FakeClickHouse }): void {
  assert.deepEqual([...r.clickhouse.rows].sort((a, b) => a - b), Array.from({ length: MESSAGES }, (_, i) => i), 'every offset stored exactly once');
  assert.equal(r.log.committedOffset, BigInt(MESSAGES), 'the whole log committed');
}

describe('exactly-once batches at each crash point', () => {
  it('dies before its pending marker reached the coordinator: the next owner cuts its own batches from the last commit', async () => {
    const r = await crashAt({ step: 'marker', applied: false, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 0, 'no marker of the dead batch was committed: nothing to rebuild');
  });

  it('dies once its pending marker is committed, before the INSERT: the exact range is rebuilt and inserted once', async () => {
    const r = await crashAt({ step: 'marker', applied: true, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 1);
    assert.equal(r.markersBefore.at(-1), pendingMetadata(CRASHED));
    assert.equal(r.clickhouse.dedupHits, 0, 'the first INSERT of that range never happened');
  });

  it('dies during the INSERT, before ClickHouse applied it: the rebuilt batch is its first INSERT', async () => {
    const r = await crashAt({ step: 'insert', applied: false, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 1);
    assert.equal(r.clickhouse.dedupHits, 0);
  });

  it('dies after ClickHouse applied the INSERT but before the answer: the rebuilt batch carries the same token and is dropped', async () => {
    const r = await crashAt({ step: 'insert', applied: true, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 1);
    assert.equal(r.clickhouse.dedupHits, 1, 'the second INSERT of offsets 8-9 was a dedup hit');
    assert.equal(r.clickhouse.tokens.filter((t) => t === dedupToken(TOPIC, CRASHED)).length, 1);
  });

  it('dies before its final commit reached the coordinator: the marker is still current, so the range is rebuilt and deduplicated', async () => {
    const r = await crashAt({ step: 'final', applied: false, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 1);
    assert.equal(r.clickhouse.dedupHits, 1);
  });

  it('dies right after its final commit: the next owner starts after the range and inserts nothing twice', async () => {
    const r = await crashAt({ step: 'final', applied: true, batch: 1 });
    assertExactlyOnce(r);
    assert.equal(r.rebuilt, 0);
    assert.equal(r.clickhouse.dedupHits, 0);
  });

  it('rebuilds a pending range larger than its own buffer bound (left by an owner with larger batches) instead of waiting on it forever', async () => {
    const log = new FakeLog(() => null);
    const clickhouse = new FakeClickHouse(() => null);
    await log.commit([{ partition: 0, offset: 0n, metadata: pendingMetadata([{ partition: 0, first: 0n, last: 7n }]) }]);
    const registry = new Registry();
    const small = owner(log, clickhouse, registry, () => true, undefined, { maxRows: 1, maxBufferedRows: 2 });
    await small.assign([0]);
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the rebuilt range never completed')), 5000)));
    try {
      await Promise.race([(async () => {
        await read(small, log);
        await small.flushAll();
      })(), stalled]);
    } finally {
      clearTimeout(timer);
    }
    assertExactlyOnce({ log, clickhouse });
    assert.equal(clickhouse.tokens[0], dedupToken(TOPIC, [{ partition: 0, first: 0n, last: 7n }]), 'the range went in as one INSERT, with its own token');
  });

  it('a batch ClickHouse refuses for good goes message by message; the refused ones are dead-lettered, the rest stored once', async () => {
    const log = new FakeLog(() => null);
    const stored: number[] = [];
    const deadLettered: string[] = [];
    const sink: Pick<BatchSink<number[]>, 'insert'> = {
      insert: async (rows) => {
        if (rows.includes(5)) throw new PermanentError('CHECK constraint violated');
        stored.push(...rows);
      },
    };
    const batches = owner(log, sink, new Registry(), () => true, undefined, { deadLetter: async (_p, m, reason) => void deadLettered.push(`${m.offset}: ${reason}`) });
    await batches.assign([0]);
    await read(batches, log);
    await batches.flushAll();
    assert.deepEqual(stored.sort((a, b) => a - b), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    assert.deepEqual(deadLettered, ['5: CHECK constraint violated']);
    assert.equal(log.committedOffset, BigInt(MESSAGES));
  });

  it('a message that shows the configuration wrong (the other topic encoding) stops it: reported once, nothing dead-lettered, nothing after it stored or committed', async () => {
    const log = new FakeLog(() => null);
    const clickhouse = new FakeClickHouse(() => null);
    const fatal: string[] = [];
    const deadLettered: string[] = [];
    const batches = owner(log, clickhouse, new Registry(), () => true, undefined, {
      decode: (m) => {
        if (Number(m.offset) >= 7) throw new ConfigError('the topic holds otlp_json messages');
        return [Number(m.offset)];
      },
      fatal: (err) => void fatal.push(err.message),
      deadLetter: async (_p, m) => void deadLettered.push(m.offset),
    });
    await batches.assign([0]);
    await read(batches, log);
    await read(batches, log);
    await batches.flushAll();
    assert.deepEqual(fatal, ['the topic holds otlp_json messages']);
    assert.deepEqual(deadLettered, []);
    assert.ok([...clickhouse.rows].every((offset) => offset < 7), `stored: ${[...clickhouse.rows].join(',')}`);
    assert.ok((log.committedOffset ?? 0n) <= 7n, `committed up to ${log.committedOffset}`);
  });
});
