// Model test of the exactly-once batch protocol (services/receivers/kafka/partition-batches.ts, the
// production class) over a simulated partitioned log, group coordinator and ClickHouse, under
// seeded random schedules. Every operation the protocol starts (commit, offset read, INSERT) waits
// until the schedule completes it, in any order and arbitrarily late, with one of three outcomes:
// done, applied but the answer lost, or failed. The schedule also rebalances the group (the
// coordinator's generation moves on: commits sent under an older one are refused), crashes a
// member's Kafka client (it restarts and rejoins later), SIGKILLs a member (each request it had
// on the wire is applied or not, at random) and starts a new one, and keeps producing. Then faults
// stop, the group settles, and every offset of the log must have been inserted exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Committed, type LogMessage, type OffsetStore, PartitionBatches, type ReadControl } from '../../services/receivers/kafka/partition-batches.js';
import type { Timers } from '../../services/shared/batcher.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';

const SCHEDULES = Number(process.env.MODEL_SCHEDULES ?? 2000);
const FAULT_STEPS = 250;
const SETTLE_STEPS = 20_000;
const PARTITIONS = 3;
const silent = createLogger('model', 100);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

type Outcome = 'done' | 'lost' | 'failed';
interface Op {
  owner: Member;
  /** Applies the request's effect (if it reaches its server) and returns whether it did. */
  apply: () => boolean;
  answer: (applied: boolean, outcome: Outcome) => void;
}

/** A kafkajs consumer group instance: its read positions and pending seeks (lost on a restart). */
interface Client {
  positions: Map<number, bigint>;
  seeks: Map<number, bigint>;
  busy: Set<number>;
}

interface Member {
  id: number;
  alive: boolean;
  /** Its Kafka client is between a crash and its restart. */
  down: boolean;
  generation: number;
  partitions: number[];
  client: Client;
  protocol: PartitionBatches<string[]>;
  assignmentReady: Promise<void>;
}

class World {
  readonly random: () => number;
  clock = 0;
  private timerSeq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void; owner: Member }>();
  readonly ops: Op[] = [];
  readonly logEnd: bigint[] = Array.from({ length: PARTITIONS }, () => 0n);
  readonly committed = new Map<number, { offset: bigint; metadata: string }>();
  generation = 0;
  /** Members the coordinator counts in the group (a killed one until the next rebalance). */
  group: Member[] = [];
  rebalancing = false;
  readonly members: Member[] = [];
  readonly tokens = new Set<string>();
  readonly inserted = new Map<string, number>();
  readonly maxRows: number;
  readonly maxDelayMs: number;
  faults = true;
  /** Rebuilds that read a partition another member owned. */
  foreignReads = 0;
  /** What happened, for the message of a failing schedule. */
  readonly trace: string[] = [];

  constructor(seed: number) {
    this.random = rng(seed);
    this.maxRows = 1 + Math.floor(this.random() * 8);
    this.maxDelayMs = 1 + Math.floor(this.random() * 40);
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  outcome(): Outcome {
    if (!this.faults) return 'done';
    const r = this.random();
    return r < 0.8 ? 'done' : r < 0.9 ? 'lost' : 'failed';
  }

  request<T>(owner: Member, apply: () => boolean, result: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.ops.push({
        owner,
        apply,
        answer: (applied, outcome) => (applied && outcome === 'done' ? resolve(result()) : reject(new Error(`request ${outcome}`))),
      });
    });
  }

  timersFor(owner: Member): Timers {
    return {
      now: () => this.clock,
      setTimeout: (fn, ms) => {
        const id = ++this.timerSeq;
        this.timers.set(id, { at: this.clock + Math.max(0, ms), fn, owner });
        return id;
      },
      clearTimeout: (id) => void this.timers.delete(id as number),
    };
  }

  offsetStore(m: Member): OffsetStore {
    return {
      commit: (offsets) => {
        // The client checks its epoch before sending; a down client sends nothing.
        if (m.down) return Promise.reject(new Error('commit not confirmed'));
        const sentUnder = m.generation;
        return this.request(
          m,
          () => {
            if (sentUnder !== this.generation || !this.group.includes(m)) return false;
            // One OffsetCommit request is one append to __consumer_offsets: all of it or nothing.
            for (const { partition, offset, metadata } of offsets) {
              this.trace.push(`m${m.id} commit p${partition} ${offset} ${metadata}`);
              this.committed.set(partition, { offset, metadata });
            }
            return true;
          },
          () => undefined,
        );
      },
      read: (ranges) =>
        this.request(m, () => true, () => {
          this.trace.push(`m${m.id} reads ranges ${ranges.map((r) => `${r.partition}:${r.first}-${r.last}`).join(',')}`);
          if (ranges.some((r) => !m.partitions.includes(r.partition))) this.foreignReads++;
          const out = new Map<number, LogMessage[]>();
          for (const r of ranges) {
            const messages: LogMessage[] = [];
            for (let o = r.first; o <= r.last && o < this.logEnd[r.partition]!; o++) messages.push({ offset: String(o), key: Buffer.from(`${r.partition}:${o}`), value: null });
            out.set(r.partition, messages);
          }
          return out;
        }),
      committed: (partitions) =>
        this.request(m, () => true, () => {
          this.trace.push(`m${m.id} reads offsets ${JSON.stringify([...this.committed].map(([p, c]) => `${p}:${c.offset}:${c.metadata}`))}`);
          const out = new Map<number, Committed>();
          for (const p of partitions) {
            const c = this.committed.get(p);
            out.set(p, c ? { offset: c.offset, metadata: c.metadata } : { offset: null, metadata: null });
          }
          return out;
        }),
      seek: (partition, offset) => void m.client.seeks.set(partition, offset),
    };
  }

  spawn(): Member {
    const m = { id: this.members.length, alive: true, down: false, generation: -1, partitions: [], client: newClient(), assignmentReady: Promise.resolve() } as unknown as Member;
    m.protocol = new PartitionBatches<string[]>({
      topic: 't',
      maxRows: this.maxRows,
      maxDelayMs: this.maxDelayMs,
      maxBufferedRows: 2 * this.maxRows,
      fatal: (err) => assert.fail(err),
      offsets: this.offsetStore(m),
      sink: {
        insert: (rows, token) =>
          this.request(
            m,
            () => {
              if (!this.tokens.has(token)) {
                this.trace.push(`m${m.id} insert ${token} [${rows.join(' ')}]`);
                this.tokens.add(token);
                for (const r of rows) this.inserted.set(r, (this.inserted.get(r) ?? 0) + 1);
              }
              return true;
            },
            () => undefined,
          ),
      },
      rows: { empty: () => [], count: (r) => r.length, merge: (rs) => rs.flat() },
      decode: (message) => [String(message.key)],
      deadLetter: () => Promise.resolve(),
      registry: new Registry(),
      log: silent,
      isRunning: () => m.alive,
      timers: this.timersFor(m),
      heartbeatEveryMs: 1000,
    });
    this.members.push(m);
    this.startRebalance();
    return m;
  }

  /** kafkajs REBALANCING: every member fences; the generation moves on when the join completes. */
  startRebalance(): void {
    this.trace.push('rebalance starts');
    this.rebalancing = true;
    for (const m of this.group) if (m.alive && !m.down) m.protocol.fence();
  }

  completeRebalance(): void {
    this.rebalancing = false;
    this.generation++;
    this.group = this.members.filter((m) => m.alive && !m.down);
    const shuffled = [...Array(PARTITIONS).keys()].sort(() => this.random() - 0.5);
    for (const m of this.group) m.partitions = [];
    shuffled.forEach((p, i) => this.group[i % this.group.length]?.partitions.push(p));
    this.trace.push(`generation ${this.generation}: ${this.group.map((m) => `m${m.id}=[${m.partitions}]`).join(' ')}`);
    for (const m of this.group) {
      m.generation = this.generation;
      // A rejoin makes a new offset manager (positions read again); pending seeks survive it.
      m.client.positions.clear();
      m.assignmentReady = m.protocol.assign(m.partitions).catch(() => {
        // kafkajs cannot read offsets: the source restarts the client.
        this.crashClient(m);
      });
    }
  }

  crashClient(m: Member): void {
    if (m.down || !m.alive) return;
    this.trace.push(`m${m.id} client crash`);
    m.down = true;
    m.protocol.fence();
    this.startRebalance();
  }

  restartClient(m: Member): void {
    m.down = false;
    m.client = newClient();
    this.startRebalance();
  }

  kill(m: Member): void {
    this.trace.push(`m${m.id} SIGKILL`);
    m.alive = false;
    for (const op of this.ops.filter((o) => o.owner === m)) if (this.random() < 0.5) op.apply();
    this.ops.splice(0, this.ops.length, ...this.ops.filter((o) => o.owner !== m));
    for (const [id, t] of this.timers) if (t.owner === m) this.timers.delete(id);
  }

  /** kafkajs fetch + eachBatch for one partition of one member. */
  deliver(m: Member, partition: number): boolean {
    const client = m.client;
    if (client.busy.has(partition)) return false;
    const seek = client.seeks.get(partition);
    if (seek !== undefined) {
      client.seeks.delete(partition);
      client.positions.set(partition, seek);
    }
    let position = client.positions.get(partition);
    if (position === undefined) position = this.committed.get(partition)?.offset ?? 0n;
    client.positions.set(partition, position);
    const end = this.logEnd[partition]!;
    if (position >= end) return false;
    const count = 1n + BigInt(Math.floor(this.random() * 6));
    const messages: LogMessage[] = [];
    for (let o = position; o < end && o < position + count; o++) messages.push({ offset: String(o), key: Buffer.from(`${partition}:${o}`), value: null });
    this.trace.push(`m${m.id} reads p${partition} ${position}..${position + BigInt(messages.length) - 1n}`);
    const ctl: ReadControl = {
      isStale: () => client.seeks.has(partition),
      resolveOffset: (offset) => void client.positions.set(partition, BigInt(offset) + 1n),
      heartbeat: () => Promise.resolve(),
    };
    client.busy.add(partition);
    const epoch = m.protocol.epoch;
    void (async () => {
      await m.assignmentReady;
      if (epoch !== m.protocol.epoch) return;
      await m.protocol.consume(epoch, partition, messages, ctl);
    })().finally(() => {
      this.trace.push(`m${m.id} read of p${partition} from ${messages[0]!.offset} returns at position ${client.positions.get(partition)}`);
      client.busy.delete(partition);
    });
    return true;
  }

  fireTimer(): boolean {
    let next: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (next === undefined || entry[1].at < next[1].at) next = entry;
    if (next === undefined) return false;
    this.timers.delete(next[0]);
    this.clock = Math.max(this.clock, next[1].at);
    next[1].fn();
    return true;
  }

  completeOp(): boolean {
    if (this.ops.length === 0) return false;
    const [op] = this.ops.splice(Math.floor(this.random() * this.ops.length), 1);
    const outcome = this.outcome();
    const applied = outcome === 'failed' ? false : op!.apply();
    op!.answer(applied, outcome);
    return true;
  }

  settled(): boolean {
    return !this.rebalancing && this.ops.length === 0 && this.logEnd.every((end, p) => (this.committed.get(p)?.offset ?? 0n) === end && (this.committed.get(p)?.metadata ?? '') === '');
  }
}

function newClient(): Client {
  return { positions: new Map(), seeks: new Map(), busy: new Set() };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function runSchedule(seed: number): Promise<{ world: World; steps: number }> {
  const w = new World(seed);
  w.spawn();
  if (w.random() < 0.5) w.spawn();
  w.completeRebalance();
  let steps = 0;
  for (; steps < FAULT_STEPS; steps++) {
    const r = w.random() * 100;
    const live = w.members.filter((m) => m.alive);
    if (r < 30) {
      const m = w.pick(w.group.filter((x) => x.alive && !x.down && !w.rebalancing));
      const p = m && w.pick(m.partitions);
      if (m && p !== undefined) w.deliver(m, p);
    } else if (r < 65) w.completeOp();
    else if (r < 80) w.fireTimer();
    else if (r < 88) w.logEnd[Math.floor(w.random() * PARTITIONS)]! += 1n + BigInt(Math.floor(w.random() * 5));
    else if (r < 91) {
      if (w.rebalancing) w.completeRebalance();
      else w.startRebalance();
    } else if (r < 93) {
      const m = w.pick(live.filter((x) => !x.down));
      if (m) w.crashClient(m);
    } else if (r < 95) {
      const m = w.pick(live.filter((x) => x.down));
      if (m) w.restartClient(m);
    } else if (r < 96.5) {
      const m = w.pick(live);
      if (m) w.kill(m);
    } else if (r < 98 && live.length < 3) w.spawn();
    else if (w.rebalancing) w.completeRebalance();
    await tick();
  }
  // Faults stop: everyone restarts, the group forms, and the log is read to the end.
  w.faults = false;
  for (const m of w.members.filter((x) => x.alive && x.down)) w.restartClient(m);
  if (!w.members.some((m) => m.alive)) w.spawn();
  w.startRebalance();
  await tick();
  w.completeRebalance();
  await tick();
  for (let i = 0; i < SETTLE_STEPS && !w.settled(); i++, steps++) {
    let progressed = w.completeOp();
    for (const m of w.group) for (const p of m.partitions) progressed = w.deliver(m, p) || progressed;
    if (!progressed) progressed = w.fireTimer();
    await tick();
    if (!progressed && w.ops.length === 0 && w.timers.size === 0) break;
  }
  return { world: w, steps };
}

describe('exactly-once batch protocol, model test', () => {
  it(`inserts every offset exactly once under ${SCHEDULES} random schedules of rebalances, lost answers, client crashes and SIGKILLs`, async (t) => {
    let totalOffsets = 0n;
    let batches = 0;
    let multiPartition = 0;
    let foreignReads = 0;
    for (let seed = 1; seed <= SCHEDULES; seed++) {
      const { world } = await runSchedule(seed);
      assert.ok(world.settled(), `seed ${seed}: the group did not commit the whole log (committed ${JSON.stringify([...world.committed].map(([p, c]) => [p, String(c.offset), c.metadata]))}, ends ${world.logEnd.map(String)})`);
      for (let p = 0; p < PARTITIONS; p++) {
        for (let o = 0n; o < world.logEnd[p]!; o++) {
          const n = world.inserted.get(`${p}:${o}`) ?? 0;
          assert.equal(n, 1, `seed ${seed}: partition ${p} offset ${o} inserted ${n} times (batch size ${world.maxRows}, delay ${world.maxDelayMs} ms):\n${world.trace.join('\n')}`);
        }
        totalOffsets += world.logEnd[p]!;
      }
      batches += world.tokens.size;
      multiPartition += [...world.tokens].filter((t) => t.includes(',')).length;
      foreignReads += world.foreignReads;
    }
    // The schedules must exercise the protocol, not idle through it.
    assert.ok(totalOffsets > BigInt(SCHEDULES) * 20n, `offsets produced: ${totalOffsets}`);
    assert.ok(batches > SCHEDULES, `batches written: ${batches}`);
    assert.ok(multiPartition > SCHEDULES / 2, `batches of more than one partition: ${multiPartition}`);
    assert.ok(foreignReads > SCHEDULES / 100, `rebuilds reading partitions of another member: ${foreignReads}`);
    t.diagnostic(`${batches} batches, ${multiPartition} of several partitions, ${foreignReads} rebuilds reading another member's partitions`);
  });
});
