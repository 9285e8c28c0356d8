// The local_log receiver: reads the local durable log (shared/local-log.ts) through the same
// exactly-once batch protocol the kafka receiver runs (partition-batches.ts), the log's offsets in
// place of a partition's: a pending marker before each INSERT, the INSERT with its dedup token, the
// commit after. Committed segments are deleted. Runs in the process that writes the log (it reads
// what that process made durable), or alone to drain a log left by a stopped one. Each signal has
// its own log (the logs one in logs/ beside the traces one).
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component, CreateSettings, ReceiverFactory } from '../../component/component.js';
import { type LocalLogConfig, parseLocalLogConfig, signalLog } from '../../exporters/local-log/exporter.js';
import type { LogsData, Signal, TracesData } from '../../otlp/model.js';
import type { LocalLog, LogReader } from '../../shared/local-log.js';
import { type Stage, exactlyOnceStages } from '../exactly-once.js';
import { decodeLogsMessage, decodeTracesMessage } from '../kafka/decode.js';
import { type Committed, type LogMessage, type OffsetCommit, type OffsetStore, PartitionBatches, type PartitionRange } from '../kafka/partition-batches.js';
// Records per read: each is decoded and normalized in one go, so this bounds how long a read holds the event loop the receiver answers on.
const READ_RECORDS = 100;
const IDLE_POLL_MS = 200;

/** Reads one signal's log into ClickHouse. */
class LogDrain<D> implements Component, OffsetStore {
  private log: LocalLog | undefined;
  private batches: PartitionBatches<unknown> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Set by seek(): the reader restarts there, and reads begun before are stale. */
  private seekTo: bigint | null = null;
  private seeks = 0;
  private wake: () => void = () => undefined;

  constructor(
    private readonly settings: CreateSettings<LocalLogConfig>,
    private readonly config: LocalLogConfig,
    private readonly signal: Signal,
    private readonly stage: Stage<D>,
    private readonly decode: (value: Buffer | null) => D,
  ) {}

  async start(): Promise<void> {
    const { registry, log } = this.settings;
    this.log = await this.settings.resources.localLog(this.config);
    const deadLettered = registry.counter('tracehouse_local_log_dead_letter_total', 'Local log records that could not be decoded or stored, written to dead-letter.jsonl.');
    this.batches = new PartitionBatches<unknown>({
      // The log's id keeps the dedup tokens of a new log apart from an old one's, and of one signal's from the other's.
      topic: `local-log-${this.log.id}`,
      ...this.stage.batch,
      offsets: this,
      sink: this.stage.sink,
      rows: this.stage.sink,
      decode: (message) => this.stage.sink.prepare(this.stage.normalize(this.decode(message.value))),
      deadLetter: async (_partition, message, reason, stage) => {
        log.error('local log record sent to dead-letter.jsonl', { offset: message.offset, stage, reason });
        const line = JSON.stringify({ offset: message.offset, stage, reason, key: message.key?.toString() ?? null, value: message.value?.toString('base64') ?? null });
        await appendFile(join(this.config.directory, 'dead-letter.jsonl'), `${line}\n`);
        deadLettered.inc({ stage });
      },
      fatal: (err) => this.settings.reportFatal(err),
      registry,
      log,
      isRunning: () => this.running,
    });
    this.running = true;
    await this.batches.assign([0]);
    const onDurable = (): void => this.wake();
    this.log.on('durable', onDurable);
    // A reader that cannot go on (a damaged record below the durable end) stops the process, as the Collector's fatal status does.
    this.loop = this.follow()
      .catch((err: unknown) => this.settings.reportFatal(err as Error))
      .finally(() => this.log?.off('durable', onDurable));
    log.info('local log receiver running', { signal: this.signal, directory: this.config.directory, log_id: this.log.id, batch_rows: this.stage.batch.maxRows });
  }

  private async follow(): Promise<void> {
    let reader: LogReader | undefined;
    while (this.running) {
      if (this.seekTo !== null || reader === undefined) {
        const from = this.seekTo ?? (await this.committed()).get(0)!.offset ?? 0n;
        this.seekTo = null;
        reader = await this.log!.reader(from);
      }
      const records = await reader.next(READ_RECORDS);
      if (records.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_POLL_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      const messages: LogMessage[] = records.map((r) => ({ offset: r.offset.toString(), key: r.key, value: r.value }));
      const seeks = this.seeks;
      await this.batches!.consume(this.batches!.epoch, 0, messages, { isStale: () => this.seeks !== seeks, resolveOffset: () => undefined, heartbeat: async () => undefined }, records.length === READ_RECORDS);
    }
  }

  commit(offsets: readonly OffsetCommit[]): Promise<void> {
    const [only, ...more] = offsets;
    if (only?.partition !== 0 || more.length > 0) return Promise.reject(new Error('the local log has one partition, 0'));
    return this.log!.commit(only.offset, only.metadata);
  }

  async read(ranges: readonly PartitionRange[]): Promise<Map<number, LogMessage[]>> {
    const out = new Map<number, LogMessage[]>();
    for (const { partition, first, last } of ranges) {
      const reader = await this.log!.reader(first);
      const messages: LogMessage[] = [];
      for (let records = await reader.next(READ_RECORDS); records.length > 0 && records[0]!.offset <= last; records = await reader.next(READ_RECORDS)) {
        for (const r of records) if (r.offset <= last) messages.push({ offset: r.offset.toString(), key: r.key, value: r.value });
      }
      out.set(partition, messages);
    }
    return out;
  }

  async committed(): Promise<Map<number, Committed>> {
    return new Map([[0, await this.log!.committed()]]);
  }

  seek(_partition: number, offset: bigint): void {
    this.seekTo = offset;
    this.seeks++;
  }

  ready(): boolean {
    return this.running;
  }

  /** Stops reading, then flushes and commits what was read. */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await this.batches?.flushAll();
  }
}

export class LocalLogReceiver implements Component {
  private readonly drains: Component[] = [];

  constructor(settings: CreateSettings<LocalLogConfig>, stages: { traces?: Stage<TracesData>; logs?: Stage<LogsData> }) {
    const { config } = settings;
    if (stages.traces) this.drains.push(new LogDrain(settings, signalLog(config, 'traces'), 'traces', stages.traces, (v) => decodeTracesMessage('otlp_proto', v)));
    if (stages.logs) this.drains.push(new LogDrain(settings, signalLog(config, 'logs'), 'logs', stages.logs, (v) => decodeLogsMessage('otlp_proto', v)));
  }

  async start(): Promise<void> {
    for (const drain of this.drains) await drain.start();
  }

  ready(): boolean {
    return this.drains.every((d) => d.ready());
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.drains.map((d) => d.shutdown()));
  }
}

export const localLogReceiverFactory = {
  kind: 'receiver',
  type: 'local_log' as const,
  produces: ['traces', 'logs'],
  parseConfig: parseLocalLogConfig,
  create: async (settings, next) => new LocalLogReceiver(settings, exactlyOnceStages('local_log', settings.pipeline, next)),
} satisfies ReceiverFactory<LocalLogConfig>;
