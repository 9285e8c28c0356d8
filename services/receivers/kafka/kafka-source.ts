// Kafka stage: a kafkajs consumer group over the spans topic, feeding the exactly-once batch
// protocol (partition-batches.ts). Offsets are committed by that protocol, never by kafkajs
// (autoCommit off; kafkajs #1729).
//
// Two kafkajs behaviours the protocol must not meet, found under broker restarts:
// - `consumer.commitOffsets` resolves without sending anything while the consumer is between a
//   crash and its restart (Runner.commitOffsets returns when `!running`), and retries a failed
//   commit after a rejoin under the new generation. So commits go through the read's own
//   `commitOffsetsIfNecessary(offsets)` (one attempt, the generation of its consumer group) and
//   count only when the COMMIT_OFFSETS event shows the coordinator stored exactly that offset.
// - a crash it does not restart from (group coordinator not found) leaves the consumer stopped for
//   good; this source then restarts it itself, with backoff.
// Every rebalance, crash and join fences the batches of the assignment before it.
import { randomUUID } from 'node:crypto';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka, type PartitionOffset, Partitioners, type Producer } from 'kafkajs';
import type { KafkaReceiverConfig } from './config.js';
import { ensureTopic } from '../../shared/kafka.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import { type BatchProtocol, type Committed, type LogMessage, type OffsetCommit, type OffsetStore, type PartitionRange, rangesText } from './partition-batches.js';

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 10_000;
const DEAD_LETTERS_LOGGED = 10;
const DEAD_LETTER_SUMMARY_EVERY = 1000;
// Compressed bytes: with lz4 (the receiver's default) 1 MiB holds ~6 MB of messages; 4 MiB kept
// ~100 MB more in a consumer at full speed for no less CPU (README, Benchmark).
const FETCH_BYTES_PER_PARTITION = 1024 * 1024;
/** Joining a group of its own takes group.initial.rebalance.delay.ms (3 s by default) before the first fetch. */
const REBUILD_READ_TIMEOUT_MS = 60_000;
const FIRST_READ_WAIT_MS = 10_000;

export function deadLetterTopic(topic: string): string {
  return `${topic}-dlq`;
}

/** A commit kafkajs did not deliver to the group coordinator (retryable: the batch is read again). */
export class CommitNotConfirmedError extends Error {
  constructor(offsets: readonly OffsetCommit[]) {
    super(`commit of ${offsets.map((o) => `partition ${o.partition} offset ${o.offset}`).join(', ')} was not confirmed by the group coordinator`);
    this.name = 'CommitNotConfirmedError';
  }
}

type CommitVia = EachBatchPayload['commitOffsetsIfNecessary'];

export class KafkaSource implements OffsetStore {
  private consumer: Consumer;
  private readonly admin: Admin;
  private readonly dlq: Producer;
  private running = false;
  private joined = false;
  private batches: BatchProtocol | null = null;
  /** Settles when the current assignment is read; reads of the log wait for it. */
  private assignmentReady: Promise<void> = Promise.resolve();
  /** The commit function of the consumer group that delivered this epoch's reads. */
  private commitVia: { epoch: number; commit: CommitVia } | null = null;
  /** Commits waiting for the first read of their epoch (commitOfEpoch). */
  private readonly firstRead: Array<() => void> = [];
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private deadLetterCount = 0;
  private activeHandlers = 0;
  private readonly handlersIdle: Array<() => void> = [];
  private readonly consumedMessages;
  private readonly deadLettered;
  private readonly lag;
  private readonly restartsTotal;

  constructor(
    private readonly kafka: Kafka,
    private readonly cfg: KafkaReceiverConfig & { partitions: number },
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.consumer = this.createConsumer();
    this.admin = kafka.admin();
    this.dlq = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    this.consumedMessages = registry.counter('tracehouse_consumer_messages_total', 'Kafka messages consumed.');
    this.deadLettered = registry.counter('tracehouse_consumer_dead_letter_total', 'Messages sent to the dead-letter topic, by stage.');
    this.lag = registry.gauge('tracehouse_consumer_lag_messages', 'High watermark minus the next offset to read, per partition.');
    this.restartsTotal = registry.counter('tracehouse_consumer_restarts_total', 'Kafka consumer restarts after a crash kafkajs gave up on.');
  }

  /** The batch stage, set once it exists (it needs this source as its offset store). */
  attach(batches: BatchProtocol): void {
    this.batches = batches;
  }

  ready(): boolean {
    return this.running && this.joined;
  }

  isRunning(): boolean {
    return this.running;
  }

  private createConsumer(): Consumer {
    const cfg = this.cfg;
    const consumer = this.kafka.consumer({
      groupId: cfg.groupId,
      sessionTimeout: cfg.sessionTimeoutMs,
      rebalanceTimeout: Math.max(cfg.sessionTimeoutMs, 10_000),
      heartbeatInterval: Math.min(3000, Math.floor(cfg.sessionTimeoutMs / 3)),
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    });
    const { GROUP_JOIN, REBALANCING, CRASH } = consumer.events;
    consumer.on(REBALANCING, () => {
      if (consumer !== this.consumer) return;
      this.joined = false;
      this.batches!.fence();
    });
    consumer.on(GROUP_JOIN, (e) => {
      if (consumer !== this.consumer) return;
      const partitions = e.payload.memberAssignment[cfg.topic] ?? [];
      this.joined = true;
      this.restarts = 0;
      this.log.info('joined consumer group', { group: cfg.groupId, partitions });
      this.assignmentReady = this.batches!.assign(partitions).catch((err: unknown) => {
        this.log.error('cannot read committed offsets; restarting the consumer', { err });
        this.scheduleRestart();
      });
    });
    consumer.on(CRASH, (e) => {
      if (consumer !== this.consumer) return;
      this.joined = false;
      this.batches!.fence();
      this.log.error('consumer crashed', { err: e.payload.error, restart: e.payload.restart });
      if (!e.payload.restart) this.scheduleRestart();
    });
    return consumer;
  }

  /** kafkajs stopped for good: a new consumer joins the group after a backoff. */
  private scheduleRestart(): void {
    if (!this.running || this.restartTimer !== null) return;
    this.joined = false;
    this.batches!.fence();
    const wait = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.restarts++);
    this.log.warn('restarting the Kafka consumer', { wait_ms: wait });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const old = this.consumer;
      this.consumer = this.createConsumer();
      this.restartsTotal.inc();
      void old
        .disconnect()
        .catch(() => undefined)
        .then(() => this.run())
        .catch((err: unknown) => {
          this.log.error('Kafka consumer restart failed', { err });
          this.scheduleRestart();
        });
    }, wait);
  }

  async commit(offsets: readonly OffsetCommit[]): Promise<void> {
    const via = await this.commitOfEpoch(this.batches!.epoch);
    if (via === null) throw new CommitNotConfirmedError(offsets);
    const wanted = new Map(offsets.map((o) => [o.partition, String(o.offset)]));
    const confirmed = new Set<number>();
    const stopListening = this.consumer.on(this.consumer.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) {
        if (t.topic !== this.cfg.topic) continue;
        for (const p of t.partitions) if (wanted.get(p.partition) === String(p.offset)) confirmed.add(p.partition);
      }
    });
    try {
      // kafkajs sends `metadata` with each partition; its type does not declare it.
      const partitions: Array<PartitionOffset & { metadata: string }> = offsets.map((o) => ({ partition: o.partition, offset: String(o.offset), metadata: o.metadata }));
      await via({ topics: [{ topic: this.cfg.topic, partitions }] });
    } finally {
      stopListening();
    }
    if (confirmed.size !== wanted.size) throw new CommitNotConfirmedError(offsets);
  }

  /**
   * The commit function of the epoch's reads. A rebuilt batch may commit before the epoch's first
   * read arrives (its partitions are read again from the committed offset, so one does): wait for
   * it a while. Null when the epoch ended first or none came.
   */
  private async commitOfEpoch(epoch: number): Promise<CommitVia | null> {
    const deadline = Date.now() + FIRST_READ_WAIT_MS;
    while (this.commitVia?.epoch !== epoch) {
      if (epoch !== this.batches!.epoch || Date.now() >= deadline || !this.running) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.firstRead.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.commitVia.commit;
  }

  async committed(partitions: readonly number[]): Promise<Map<number, Committed>> {
    const [topic] = await this.admin.fetchOffsets({ groupId: this.cfg.groupId, topics: [this.cfg.topic] });
    const out = new Map<number, Committed>();
    for (const p of topic?.partitions ?? []) {
      if (!partitions.includes(p.partition)) continue;
      out.set(p.partition, { offset: Number(p.offset) >= 0 ? BigInt(p.offset) : null, metadata: p.metadata });
    }
    return out;
  }

  seek(partition: number, offset: bigint): void {
    if (this.running) this.consumer.seek({ topic: this.cfg.topic, partition, offset: String(offset) });
  }

  /**
   * Reads offset ranges whoever owns their partitions, to rebuild a pending batch. kafkajs reads
   * only through a consumer group: this one is a group of one member of its own, which commits
   * nothing and is deleted after.
   */
  async read(ranges: readonly PartitionRange[]): Promise<Map<number, LogMessage[]>> {
    const groupId = `${this.cfg.groupId}-rebuild-${randomUUID()}`;
    const reader = this.kafka.consumer({ groupId, sessionTimeout: this.cfg.sessionTimeoutMs, maxBytesPerPartition: FETCH_BYTES_PER_PARTITION, allowAutoTopicCreation: false });
    const wanted = new Map(ranges.map((r) => [r.partition, r]));
    const out = new Map<number, LogMessage[]>(ranges.map((r) => [r.partition, []]));
    const left = new Set(wanted.keys());
    let finish!: (err?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
    const timer = setTimeout(() => finish(new Error(`reading offsets ${rangesText(ranges)} of ${this.cfg.topic} took over ${REBUILD_READ_TIMEOUT_MS} ms`)), REBUILD_READ_TIMEOUT_MS);
    reader.on(reader.events.CRASH, (e) => finish(e.payload.error));
    try {
      await reader.connect();
      // Partitions not asked for start at their end and read nothing; the asked ones are moved by seek.
      await reader.subscribe({ topic: this.cfg.topic, fromBeginning: false });
      await reader.run({
        autoCommit: false,
        eachBatch: async ({ batch, isStale }) => {
          const range = wanted.get(batch.partition);
          const messages = out.get(batch.partition)!;
          if (range === undefined || !left.has(batch.partition) || isStale()) return;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            // A fetch from the partition's end that began before the seek holds only offsets past the range.
            if (offset > range.last && messages.length === 0) return;
            if (offset >= range.first && offset <= range.last) messages.push({ offset: m.offset, key: m.key, value: m.value });
            if (offset >= range.last) {
              left.delete(batch.partition);
              break;
            }
          }
          if (left.size === 0) finish();
        },
      });
      for (const r of ranges) reader.seek({ topic: this.cfg.topic, partition: r.partition, offset: String(r.first) });
      await finished;
      return out;
    } finally {
      clearTimeout(timer);
      await reader.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await ensureTopic(this.admin, this.cfg.topic, this.cfg.partitions, this.log);
    await ensureTopic(this.admin, deadLetterTopic(this.cfg.topic), 1, this.log);
    await this.dlq.connect();
    this.running = true;
    await this.run();
  }

  private async run(): Promise<void> {
    const consumer = this.consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.cfg.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.cfg.partitions,
      eachBatch: (payload) => this.track(() => this.handleBatch(payload)),
    });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const batches = this.batches!;
    const epoch = batches.epoch;
    await this.assignmentReady;
    if (epoch !== batches.epoch) return;
    if (this.commitVia?.epoch !== epoch) {
      this.commitVia = { epoch, commit: payload.commitOffsetsIfNecessary };
      this.firstRead.splice(0).forEach((resolve) => resolve());
    }
    const { batch } = payload;
    const lag = Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1);
    await batches.consume(epoch, batch.partition, batch.messages, payload, lag > 0);
    this.consumedMessages.inc({}, batch.messages.length);
    this.lag.set({ topic: this.cfg.topic, partition: String(batch.partition) }, lag);
    await payload.heartbeat();
  }

  async deadLetter(partition: number, message: LogMessage, reason: string, stage: 'decode' | 'clickhouse'): Promise<void> {
    // A topic full of bad messages must not bury the log: the first few in full, then a running count.
    const n = ++this.deadLetterCount;
    if (n <= DEAD_LETTERS_LOGGED) this.log.error('message sent to dead-letter topic', { partition, offset: message.offset, stage, reason, ...(n === DEAD_LETTERS_LOGGED ? { note: `further dead letters are logged once per ${DEAD_LETTER_SUMMARY_EVERY} (tracehouse_consumer_dead_letter_total counts all)` } : {}) });
    else if (n % DEAD_LETTER_SUMMARY_EVERY === 0) this.log.error('messages sent to dead-letter topic', { total: n, last_partition: partition, last_offset: message.offset, stage, reason });
    await this.dlq.send({
      topic: deadLetterTopic(this.cfg.topic),
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers: { 'x-tracehouse-error': reason, 'x-tracehouse-stage': stage, 'x-source-topic': this.cfg.topic, 'x-source-partition': String(partition), 'x-source-offset': message.offset } }],
    });
    this.deadLettered.inc({ stage });
  }

  private async track(fn: () => Promise<void>): Promise<void> {
    this.activeHandlers++;
    try {
      await fn();
    } finally {
      if (--this.activeHandlers === 0) this.handlersIdle.splice(0).forEach((resolve) => resolve());
    }
  }

  /** Stop intake, let running batch handlers return, flush and commit what was read, then leave the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.firstRead.splice(0).forEach((wake) => wake());
    if (this.activeHandlers > 0) await new Promise<void>((resolve) => this.handlersIdle.push(resolve));
    try {
      await this.batches?.flushAll();
    } finally {
      await this.consumer.disconnect();
      await this.dlq.disconnect();
      await this.admin.disconnect();
    }
  }
}
