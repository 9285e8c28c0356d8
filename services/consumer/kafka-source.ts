// Kafka stage: a kafkajs consumer group over the spans topic. Offsets are committed by the batch
// stage around each INSERT, never by kafkajs (autoCommit off: research/kafka.md, kafkajs #1729).
// On every assignment the commit metadata is read, so pending batches are rebuilt exactly.
// Messages that cannot be decoded, or whose rows ClickHouse rejects, go to the dead-letter topic
// with the reason in headers, and the partition moves on.
import { type Admin, type Consumer, type EachBatchPayload, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Config } from '../shared/config.js';
import { ensureTopic } from '../shared/kafka.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { NormalizedRows, Normalizer } from '../shared/normalize/rows.js';
import { decodeMessage } from './decode.js';
import { type MessageRows, type OffsetRange, type PartitionBatches, parsePending } from './partition-batches.js';

const HEARTBEAT_EVERY_MS = 3000;

export function deadLetterTopic(topic: string): string {
  return `${topic}-dlq`;
}

export class KafkaSource {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly dlq: Producer;
  private running = false;
  private joined = false;
  /** Settles when the current assignment's pending batches are known; batch handlers wait for it. */
  private assignmentReady: Promise<void> = Promise.resolve();
  private activeHandlers = 0;
  private readonly handlersIdle: Array<() => void> = [];
  private readonly consumedMessages;
  private readonly deadLettered;
  private readonly lag;

  constructor(
    kafka: Kafka,
    private readonly cfg: Config['kafka'],
    private readonly normalizer: Normalizer,
    private batches: PartitionBatches | null,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: cfg.groupId,
      sessionTimeout: cfg.sessionTimeoutMs,
      rebalanceTimeout: Math.max(cfg.sessionTimeoutMs, 10_000),
      heartbeatInterval: Math.min(3000, Math.floor(cfg.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    this.admin = kafka.admin();
    this.dlq = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    this.consumedMessages = registry.counter('tracehouse_consumer_messages_total', 'Kafka messages consumed.');
    this.deadLettered = registry.counter('tracehouse_consumer_dead_letter_total', 'Messages sent to the dead-letter topic, by stage.');
    this.lag = registry.gauge('tracehouse_consumer_lag_messages', 'High watermark minus the next offset to read, per partition.');
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.joined = true;
      const partitions = e.payload.memberAssignment[cfg.topic] ?? [];
      this.log.info('joined consumer group', { group: cfg.groupId, partitions });
      this.assignmentReady = this.loadAssignment(partitions);
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => this.log.error('consumer crashed', { err: e.payload.error, restart: e.payload.restart }));
  }

  /** The batch stage, set once it exists (it needs this source's commit and rewind). */
  attach(batches: PartitionBatches): void {
    this.batches = batches;
  }

  ready(): boolean {
    return this.running && this.joined;
  }

  isRunning(): boolean {
    return this.running;
  }

  commit(partition: number, offset: string, metadata: string): Promise<void> {
    return this.consumer.commitOffsets([{ topic: this.cfg.topic, partition, offset, metadata }]);
  }

  rewind(partition: number, offset: string): void {
    if (this.running) this.consumer.seek({ topic: this.cfg.topic, partition, offset });
  }

  private async loadAssignment(partitions: number[]): Promise<void> {
    const pending = new Map<number, OffsetRange>();
    try {
      const [topic] = await this.admin.fetchOffsets({ groupId: this.cfg.groupId, topics: [this.cfg.topic] });
      for (const p of topic?.partitions ?? []) {
        const range = parsePending(p.metadata);
        // Only a marker at the committed offset is current; anything else was superseded.
        if (range !== null && partitions.includes(p.partition) && BigInt(p.offset) === range.first) pending.set(p.partition, range);
      }
    } catch (err) {
      this.log.error('cannot read committed offsets; restarting the consumer', { err });
      throw err;
    }
    this.batches!.assign(pending);
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await ensureTopic(this.admin, this.cfg.topic, this.cfg.partitions, this.log);
    await ensureTopic(this.admin, deadLetterTopic(this.cfg.topic), 1, this.log);
    await this.dlq.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.cfg.topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.cfg.partitions,
      eachBatch: (payload) => this.track(() => this.handleBatch(payload)),
    });
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.assignmentReady;
    const batches = this.batches!;
    const partition = batch.partition;
    for (const message of batch.messages) {
      if (!this.running || !isRunning() || isStale()) return;
      let rows: NormalizedRows;
      try {
        rows = this.normalizer.normalize(decodeMessage(this.cfg.encoding, message.value).data);
      } catch (err) {
        await this.sendToDeadLetter(partition, message.offset, message.key, message.value, (err as Error).message, 'decode');
        rows = { spans: [], events: [] };
      }
      if (batches.replayEndsBefore(partition, message.offset)) await this.waitWithHeartbeat(batches.endReplay(partition), heartbeat);
      const added = batches.add(partition, { offset: message.offset, rows, key: message.key, value: message.value });
      this.consumedMessages.inc();
      // Marks the message as fetched, not committed (autoCommit is off): the next fetch continues after it.
      resolveOffset(message.offset);
      if (batches.replayEndsAt(partition, message.offset)) await this.waitWithHeartbeat(batches.endReplay(partition), heartbeat);
      // Bound memory: wait until this partition's rows are inserted before reading more.
      else if (batches.overloaded(partition)) await this.waitWithHeartbeat(added, heartbeat);
    }
    this.lag.set({ partition: String(partition) }, Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1));
    await heartbeat();
  }

  /** kafkajs has no background heartbeat: keep the membership alive while an INSERT is slow. */
  private async waitWithHeartbeat(p: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      await p.catch(() => undefined);
    } finally {
      clearInterval(timer);
    }
  }

  deadLetter(partition: number, item: MessageRows, reason: string, stage: 'clickhouse'): Promise<void> {
    return this.sendToDeadLetter(partition, item.offset, item.key, item.value, reason, stage);
  }

  private async sendToDeadLetter(partition: number, offset: string, key: Buffer | null, value: Buffer | null, reason: string, stage: 'decode' | 'clickhouse'): Promise<void> {
    this.log.error('message sent to dead-letter topic', { partition, offset, stage, reason });
    await this.dlq.send({
      topic: deadLetterTopic(this.cfg.topic),
      acks: -1,
      messages: [{ key, value, headers: { 'x-tracehouse-error': reason, 'x-tracehouse-stage': stage, 'x-source-topic': this.cfg.topic, 'x-source-partition': String(partition), 'x-source-offset': offset } }],
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
