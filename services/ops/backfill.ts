// `tracehouse backfill`:
//  rollups — recompute the rollups for a time range from spans_raw, with the materialized views' own
//            SELECT (read from system.tables), after deleting the range: re-running gives the same numbers.
//  replay  — read the spans topic again from a timestamp and store the spans spans_raw lacks: spans
//            already stored (by trace and span id) are skipped, so a replay is safe to repeat and to
//            run beside the live consumer. Rebuild the rollups for the range afterwards.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { decodeTracesMessage } from '../receivers/kafka/decode.js';
import type { TelemetrySink } from '../exporters/clickhouse/telemetry-sink.js';
import type { KafkaReceiverConfig } from '../receivers/kafka/config.js';
import type { NormalizedRows, Normalizer } from '../processors/genai/rows.js';
import { mergeRows } from '../processors/genai/rows.js';
import { Progress } from './progress.js';

interface Rollup {
  table: string;
  view: string;
  key: string;
  /** Rollup rows cover whole minutes or whole days; the range is widened to match. */
  grain: 'minute' | 'day';
}

export const ROLLUPS: Rollup[] = [
  { table: 'spans_minute', view: 'spans_minute_mv', key: 'minute', grain: 'minute' },
  { table: 'llm_minute', view: 'llm_minute_mv', key: 'minute', grain: 'minute' },
  { table: 'tool_minute', view: 'tool_minute_mv', key: 'minute', grain: 'minute' },
  { table: 'trace_index', view: 'trace_index_mv', key: 'day', grain: 'day' },
];

function align(range: { from: Date; to: Date }, grain: 'minute' | 'day'): { from: number; to: number } {
  const step = grain === 'minute' ? 60 : 86_400;
  return { from: Math.floor(range.from.getTime() / 1000 / step) * step, to: Math.ceil(range.to.getTime() / 1000 / step) * step };
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow', query_params: params })).json<T>();
}

export async function backfillRollups(client: ClickHouseClient, database: string, range: { from: Date; to: Date }): Promise<void> {
  const progress = new Progress('backfill rollups', ROLLUPS.length, 'tables');
  for (const [i, r] of ROLLUPS.entries()) {
    const [view] = await rows<{ as_select: string }>(client, 'SELECT as_select FROM system.tables WHERE database = {db:String} AND name = {view:String}', { db: database, view: r.view });
    if (!view) throw new Error(`materialized view ${database}.${r.view} not found: run tracehouse migrate`);
    const columns = (await rows<{ name: string }>(client, 'SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position', { db: database, t: r.table })).map((c) => c.name);
    const { from, to } = align(range, r.grain);
    const source = `${database}.spans_raw`;
    if (!view.as_select.includes(`FROM ${source}`)) throw new Error(`${r.view} does not read ${source}`);
    // The view's SELECT over the range only: its source table replaced by the range of it.
    const select = view.as_select.replaceAll(`FROM ${source}`, `FROM (SELECT * FROM ${source} WHERE start_ts >= toDateTime64(${from}, 9) AND start_ts < toDateTime64(${to}, 9))`);
    const keyRange = r.grain === 'minute' ? `${r.key} >= toDateTime(${from}) AND ${r.key} < toDateTime(${to})` : `${r.key} >= toDate(toDateTime(${from})) AND ${r.key} < toDate(toDateTime(${to}))`;
    await client.command({ query: `ALTER TABLE ${database}.${r.table} DELETE WHERE ${keyRange}`, clickhouse_settings: { mutations_sync: '2' } });
    // Without dedup: a rebuilt block identical to one inserted before must not be dropped.
    await client.command({ query: `INSERT INTO ${database}.${r.table} SELECT ${columns.join(', ')} FROM (${select})`, clickhouse_settings: { insert_deduplicate: 0 } });
    progress.update(i + 1, r.table);
  }
  progress.done(`${ROLLUPS.length} rollups rebuilt from ${range.from.toISOString()} to ${range.to.toISOString()}`);
}

/** Keeps only the spans (and their events) spans_raw does not hold yet. */
async function unseen(client: ClickHouseClient, database: string, batch: NormalizedRows): Promise<NormalizedRows> {
  if (batch.spans.length === 0) return batch;
  let min = batch.spans[0]!.start_ts;
  let max = min;
  for (const s of batch.spans) {
    if (s.start_ts < min) min = s.start_ts;
    if (s.start_ts > max) max = s.start_ts;
  }
  const stored = await rows<{ trace_id: string; span_id: string }>(
    client,
    `SELECT trace_id, span_id FROM ${database}.spans_raw WHERE start_ts >= fromUnixTimestamp64Nano({min:Int64}) AND start_ts <= fromUnixTimestamp64Nano({max:Int64}) AND has({traces:Array(String)}, trace_id)`,
    { min: min.toString(), max: max.toString(), traces: [...new Set(batch.spans.map((s) => s.trace_id))] },
  );
  const seen = new Set(stored.map((r) => `${r.trace_id}/${r.span_id}`));
  const spans = batch.spans.filter((s) => !seen.has(`${s.trace_id}/${s.span_id}`));
  const fresh = new Set(spans.map((s) => `${s.trace_id}/${s.span_id}`));
  return { spans, events: batch.events.filter((e) => fresh.has(`${e.trace_id}/${e.span_id}`)), logs: [] };
}

export interface ReplayResult {
  messages: number;
  spansRead: number;
  spansStored: number;
}

export async function replayKafka(opts: { kafka: Kafka; cfg: KafkaReceiverConfig; fromMs: number; batchRows: number; normalizer: Normalizer; sink: TelemetrySink; client: ClickHouseClient; database: string }): Promise<ReplayResult> {
  const { kafka, cfg } = opts;
  const admin = kafka.admin();
  await admin.connect();
  let starts: Array<{ partition: number; offset: string }>;
  let ends: Array<{ partition: number; high: string }>;
  try {
    starts = await admin.fetchTopicOffsetsByTimestamp(cfg.topic, opts.fromMs);
    ends = await admin.fetchTopicOffsets(cfg.topic);
  } finally {
    await admin.disconnect();
  }
  const endOf = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const startOf = new Map(starts.map((s) => [s.partition, BigInt(s.offset)]));
  const remaining = new Map(starts.filter((s) => BigInt(s.offset) >= 0n && BigInt(s.offset) < endOf.get(s.partition)!).map((s) => [s.partition, s.offset]));
  const total = starts.reduce((n, s) => n + Math.max(0, Number(endOf.get(s.partition)! - BigInt(s.offset))), 0);
  const result: ReplayResult = { messages: 0, spansRead: 0, spansStored: 0 };
  const progress = new Progress('replay', total, 'messages');
  if (remaining.size === 0) {
    progress.done('nothing to replay');
    return result;
  }
  // A group of its own that never commits: the live consumer's offsets are untouched.
  const consumer = kafka.consumer({ groupId: `${cfg.groupId}-replay-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: cfg.topic, fromBeginning: true });
  let pending: NormalizedRows[] = [];
  let pendingRows = 0;
  const flush = async (): Promise<void> => {
    const batch = await unseen(opts.client, opts.database, mergeRows(pending));
    await opts.sink.insert(batch);
    result.spansStored += batch.spans.length;
    pending = [];
    pendingRows = 0;
  };
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
          const end = endOf.get(batch.partition)!;
          for (const message of batch.messages) {
            if (isStale() || !remaining.has(batch.partition) || BigInt(message.offset) >= end) break;
            // Read before the seek to the start offset took effect.
            if (BigInt(message.offset) < startOf.get(batch.partition)!) continue;
            const rows = opts.normalizer.normalize(decodeTracesMessage(cfg.encoding, message.value));
            pending.push(rows);
            pendingRows += rows.spans.length;
            result.messages++;
            result.spansRead += rows.spans.length;
            resolveOffset(message.offset);
            if (pendingRows >= opts.batchRows) await flush();
            if (BigInt(message.offset) + 1n >= end) remaining.delete(batch.partition);
          }
          progress.update(result.messages, `${result.spansStored} spans stored`);
          await heartbeat();
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of remaining) consumer.seek({ topic: cfg.topic, partition, offset });
    });
  });
  await flush();
  await consumer.disconnect();
  progress.done(`${result.messages} messages, ${result.spansRead} spans read, ${result.spansStored} stored (the rest were already there)`);
  return result;
}
