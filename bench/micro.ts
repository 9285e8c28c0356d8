// Per-stage micro-benchmarks: OTLP decode, per-trace encode, normalize, row encoding, ClickHouse
// insert (the real engine, with the materialized views), Kafka produce/consume (the real broker).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { Redactor, parseRedactionConfig } from '../services/processors/redaction.js';
import { splitByTrace } from '../services/otlp/split.js';
import { splitProtobufByTrace } from '../services/receivers/otlp/split-protobuf.js';
import { type ClickHouseHandle, openClickHouse } from '../services/shared/clickhouse/client.js';
import { anyValueJson, attributeTypes, attributesToMap } from '../services/otlp/attributes.js';
import type { Span, TracesData } from '../services/otlp/model.js';
import { BinaryWriter } from '../services/exporters/clickhouse/binary-writer.js';
import { loadNativeClient } from '../services/exporters/kafka/producers.js';
import { migrate } from '../services/shared/clickhouse/migrate.js';
import { TENANT_TABLES } from '../services/shared/clickhouse/users.js';
import { eventRows, logRows, spanRows } from '../services/exporters/clickhouse/row-format.js';
import { TelemetrySink, encodedRows } from '../services/exporters/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../services/config.js';
import { createLogger } from '../services/shared/log.js';
import { Registry } from '../services/shared/metrics.js';
import { type NormalizedRows, Normalizer, mergeRows } from '../services/processors/genai/rows.js';
import { decodeTracesJson } from '../services/otlp/json.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../services/otlp/protobuf.js';
import { prebuildRequests } from './workload.js';
import { procStat } from './processes.js';
import { createTopicsWithLeaders } from '../services/shared/kafka.js';

export type Recorder = (key: string, label: string, value: number, unit: string, digits?: number) => void;

/** Runs fn repeatedly for about `ms` (after a JIT warm-up of ms/4) and returns calls per second. */
function perSecond(fn: () => void, ms = 3000): number {
  const warm = performance.now();
  while (performance.now() - warm < ms / 4) fn();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    calls++;
  }
  return calls / ((performance.now() - start) / 1000);
}

const REDACTION_RULES = {
  hash_key: 'bench-redaction-key-0123456789',
  rules: [
    { name: 'emails', values: 'email', action: 'mask' },
    { name: 'secrets', values: ['api_key', 'card_number'], action: 'hash' },
    { name: 'content', keys: 'genai_content', values: 'email', action: 'mask' },
    { name: 'employee-ids', keys: ['app.*'], pattern: 'EMP-\\d{6}', action: 'mask' },
  ],
};

const normalizer = new Normalizer({ tenancy: { tenant: 'd', env: 'e' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });

/** How the receiver's fast path splits requests per trace, under the default config. */
function receiverSplitOptions(config: ReturnType<typeof resolveConfig>): Parameters<typeof splitProtobufByTrace>[1] {
  return { limits: config.receivers.otlp.limits, retentionDays: config.exporters.clickhouse.ttlDays, tenancy: config.processors.attributes, tenant: undefined, maxMessageBytes: 1_000_000 };
}

export function codecStages(record: Recorder): void {
  const config = resolveConfig({}, {});
  const [proto] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'protobuf', gzip: false, tenant: 'micro' });
  const [json] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'json', gzip: false, tenant: 'micro' });
  const [gz] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'protobuf', gzip: true, tenant: 'micro' });
  const n = proto!.spans;
  const jsonText = Buffer.from(json!.body).toString('utf8');
  const decoded = decodeTracesProtobuf(proto!.body).data;
  const rows = normalizer.normalize(decoded).spans;
  record('decode_protobuf_spans_per_s', 'OTLP protobuf decode', n * perSecond(() => decodeTracesProtobuf(proto!.body)), 'spans/s');
  record('decode_protobuf_gzip_spans_per_s', 'OTLP protobuf gunzip + decode', n * perSecond(() => decodeTracesProtobuf(gunzipSync(gz!.body))), 'spans/s');
  record('decode_json_spans_per_s', 'OTLP JSON decode', n * perSecond(() => decodeTracesJson(jsonText)), 'spans/s');
  record('encode_per_trace_spans_per_s', 'decoding path: split per trace + protobuf encode', n * perSecond(() => {
    for (const t of splitByTrace(decoded).values()) encodeTracesProtobuf(t);
  }), 'spans/s');
  const splitOptions = receiverSplitOptions(config);
  record('split_protobuf_spans_per_s', 'receiver fast path: split per trace, no decode', n * perSecond(() => splitProtobufByTrace(proto!.body, splitOptions)), 'spans/s');
  record('normalize_rows_per_s', 'normalize (GenAI, cost, events) -> rows', n * perSecond(() => normalizer.normalize(decoded)), 'spans/s');
  // The redaction processor mutates what it is given, so each call redacts a fresh decode; its own cost is the difference.
  const redactor = new Redactor(parseRedactionConfig(REDACTION_RULES), new Registry());
  const decodeOnly = n * perSecond(() => decodeTracesProtobuf(proto!.body));
  const decodeAndRedact = n * perSecond(() => redactor.process(decodeTracesProtobuf(proto!.body).data));
  record('redaction_us_per_span', 'redaction processor (4 rules: e-mail, API keys + cards, GenAI content, a regex)', 1e6 / decodeAndRedact - 1e6 / decodeOnly, 'µs/span', 2);
  record('row_body_rows_per_s', 'rows -> column chunk -> Native insert body', n * perSecond(() => spanRows.body([spanRows.chunk(rows)])), 'rows/s');
}

const HELD_SPANS = 300_000;

/**
 * The consumer's own path per span (decode, normalize, encode into column chunks, join the batch's
 * chunks into INSERT bodies) with 1k, 100k and 300k spans held before each batch is joined, as a
 * consumer holds them while its batches wait for their INSERT: flat when a held batch costs the
 * garbage collector nothing.
 */
export function heldBatches(record: Recorder): void {
  const config = resolveConfig({}, {});
  const splitOptions = receiverSplitOptions(config);
  const requests = prebuildRequests({ count: 40, spansPerRequest: 500, encoding: 'protobuf', gzip: false });
  const messages = requests.flatMap((r) => splitProtobufByTrace(r.body, splitOptions)!.map((t) => t.bytes));
  for (const held of [1000, 100_000, 300_000]) {
    const cpu = process.cpuUsage();
    let batch: ReturnType<typeof encodedRows.prepare>[] = [];
    let heldSpans = 0;
    let spans = 0;
    for (let i = 0; spans < HELD_SPANS; i++) {
      const rows = normalizer.normalize(decodeTracesProtobuf(messages[i % messages.length]!).data);
      batch.push(encodedRows.prepare(rows));
      heldSpans += rows.spans.length;
      spans += rows.spans.length;
      if (heldSpans < held) continue;
      const merged = encodedRows.merge(batch);
      spanRows.body(merged.spans);
      eventRows.body(merged.events);
      logRows.body(merged.logs);
      batch = [];
      heldSpans = 0;
    }
    const used = process.cpuUsage(cpu);
    record(`consumer_path_cpu_s_per_100k_holding_${held}`, `decode + normalize + chunk + join, ${held.toLocaleString('en-US')} spans held per batch`, ((used.user + used.system) / 1e6 / spans) * 100_000, 'CPU s', 2);
  }
}

const SWEEP_SPANS = 180_000;
const MERGES_SETTLE_MS = 5000;

/**
 * The server's CPU per span by INSERT size, the same spans each time: the merges done within a few
 * seconds (each INSERT makes a part in every table it reaches, and small parts are merged again),
 * then everything merged to one part per partition (OPTIMIZE FINAL), an upper bound on what a
 * longer run's merges would add. What batch sizes and partition counts cost ClickHouse.
 */
async function insertSizes(record: Recorder, ch: ClickHouseHandle, sink: TelemetrySink, database: string, rows: NormalizedRows[]): Promise<void> {
  const all = mergeRows(rows);
  for (const size of [1000, 10_000, 30_000, 90_000]) {
    for (const t of TENANT_TABLES) await ch.client.command({ query: `TRUNCATE TABLE ${database}.${t}` });
    await new Promise((r) => setTimeout(r, MERGES_SETTLE_MS));
    const before = procStat(ch.serverPid!).cpuSeconds;
    let spans = 0;
    for (let i = 0; spans < SWEEP_SPANS; i++) {
      const from = (i * size) % (all.spans.length - size + 1);
      const batch: NormalizedRows = { spans: all.spans.slice(from, from + size), events: [], logs: [] };
      const ids = new Set(batch.spans.map((s) => s.span_id));
      batch.events = all.events.filter((e) => ids.has(e.span_id));
      await sink.insert(batch, `bench:sweep:${size}:${i}`);
      spans += size;
    }
    await new Promise((r) => setTimeout(r, MERGES_SETTLE_MS));
    const settled = procStat(ch.serverPid!).cpuSeconds - before;
    for (const t of TENANT_TABLES) await ch.client.command({ query: `OPTIMIZE TABLE ${database}.${t} FINAL` });
    const merged = procStat(ch.serverPid!).cpuSeconds - before;
    const label = `ClickHouse server CPU per 100k spans, ${size.toLocaleString('en-US')}-span INSERTs`;
    record(`clickhouse_server_cpu_s_per_100k_at_${size}_spans_per_insert`, `${label} (merges within 5 s)`, (settled / spans) * 100_000, 'CPU s', 2);
    record(`clickhouse_server_cpu_s_per_100k_at_${size}_spans_per_insert_merged`, `${label}, then merged to one part`, (merged / spans) * 100_000, 'CPU s', 2);
  }
}

/** Batches of `batchRows` span rows (and their events) through TelemetrySink into a local ClickHouse server over HTTP, with every materialized view; CPU of this process and of the server. */
export async function clickhouseInsert(record: Recorder, batchRows = 10_000, batches = 12): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-bench-ch-'));
  const config = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' });
  const ch = await openClickHouse(config.exporters.clickhouse, createLogger('bench', 30));
  const serverPid = ch.serverPid!;
  try {
    const log = createLogger('bench');
    await migrate(ch.client, config.exporters.clickhouse, log);
    const sink = new TelemetrySink(ch, config.exporters.clickhouse.database, new Registry(), log);
    const batchesOfRows: NormalizedRows[] = [];
    const requests = prebuildRequests({ count: batches, spansPerRequest: batchRows, encoding: 'protobuf', gzip: false });
    const decoded = requests.map((r) => decodeTracesProtobuf(r.body).data);
    for (const data of decoded) batchesOfRows.push(normalizer.normalize(data));
    await sink.insert(batchesOfRows[0]!, 'bench:warmup');
    let spans = 0;
    const cpu = process.cpuUsage();
    const serverCpu = procStat(serverPid).cpuSeconds;
    const started = performance.now();
    for (const [i, rows] of batchesOfRows.entries()) {
      await sink.insert(rows, `bench:${i}`);
      spans += rows.spans.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const server = procStat(serverPid).cpuSeconds - serverCpu;
    record('clickhouse_insert_rows_per_s', `ClickHouse insert over HTTP (${batchRows.toLocaleString('en-US')}-row batches, MVs)`, spans / seconds, 'spans/s');
    record('clickhouse_insert_client_cpu_s_per_100k', 'ClickHouse insert, client CPU per 100k spans', ((used.user + used.system) / 1e6 / spans) * 100_000, 'CPU s', 2);
    record('clickhouse_insert_server_cpu_s_per_100k', 'ClickHouse insert, server CPU per 100k spans', (server / spans) * 100_000, 'CPU s', 2);
    await insertSizes(record, ch, sink, config.exporters.clickhouse.database, batchesOfRows);
    await attributeTypeRepresentations(record, ch, config.exporters.clickhouse.database, decoded.slice(1));
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How span attribute types are kept: the *_attribute_types maps spans_raw has (text in `attributes`,
 * a type entry per non-string key) against one attributes_json column of typed OTLP/JSON (the
 * architecture brief's), for the same spans: client encode time, bytes on disk, and a typed query.
 */
async function attributeTypeRepresentations(record: Recorder, ch: ClickHouseHandle, db: string, data: TracesData[]): Promise<void> {
  const spans = data.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
  const sample = spans.slice(0, 2000);
  const typesPerSpan = 1e6 / (sample.length * perSecond(() => sample.forEach((s) => attributeTypes(s.attributes, attributesToMap(s.attributes)))));
  const textPerSpan = 1e6 / (sample.length * perSecond(() => sample.forEach((s) => attributesToMap(s.attributes))));
  const json = (s: Span): string => JSON.stringify(Object.fromEntries(s.attributes.map((kv) => [kv.key, anyValueJson(kv.value)])));
  const jsonPerSpan = 1e6 / (sample.length * perSecond(() => sample.forEach(json)));
  record('attribute_types_encode_us_per_span', 'attribute types as a map beside the text (stored): encode', typesPerSpan - textPerSpan, 'µs/span', 2);
  record('attributes_json_encode_us_per_span', 'attributes_json (typed OTLP/JSON) instead: encode', jsonPerSpan, 'µs/span', 2);

  await ch.client.command({ query: `CREATE TABLE ${db}.attributes_json_probe (attributes_json String CODEC(ZSTD(1))) ENGINE = MergeTree ORDER BY tuple()` });
  const w = new BinaryWriter(spans.length * 400);
  for (const s of spans) w.string(json(s));
  await ch.insertRaw({ table: `${db}.attributes_json_probe`, columns: ['attributes_json'], format: 'RowBinary', body: w.bytes(), settings: {} });
  await ch.client.command({ query: `OPTIMIZE TABLE ${db}.attributes_json_probe FINAL` });
  await ch.client.command({ query: `OPTIMIZE TABLE ${db}.spans_raw FINAL` });
  const bytes = async (table: string, columns: string[]): Promise<number> => {
    const rs = await ch.client.query({ query: `SELECT sum(data_compressed_bytes) AS b FROM system.columns WHERE database = {db:String} AND table = {t:String} AND has({c:Array(String)}, name)`, query_params: { db, t: table, c: columns }, format: 'JSONEachRow' });
    return Number(((await rs.json()) as Array<{ b: string }>)[0]!.b);
  };
  const count = async (table: string): Promise<number> => Number(((await (await ch.client.query({ query: `SELECT count() AS n FROM ${db}.${table}`, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0]!.n);
  const spanRows = await count('spans_raw');
  const probeRows = await count('attributes_json_probe');
  record('attribute_types_bytes_per_span', 'attribute types map, on disk (compressed)', (await bytes('spans_raw', ['attribute_types'])) / spanRows, 'B/span', 1);
  record('attributes_text_bytes_per_span', 'attributes text map, on disk (kept either way for queries)', (await bytes('spans_raw', ['attributes'])) / spanRows, 'B/span', 1);
  record('attributes_json_bytes_per_span', 'attributes_json instead, on disk (compressed)', (await bytes('attributes_json_probe', ['attributes_json'])) / probeRows, 'B/span', 1);
  const timed = async (sql: string): Promise<number> => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json();
      runs.push(performance.now() - started);
    }
    return runs.sort((a, b) => a - b)[2]!;
  };
  const key = 'gen_ai.usage.input_tokens';
  record('attribute_types_query_ms', `typed filter (${key} > 1000) via the types map, median of 5`, await timed(`SELECT count() FROM ${db}.spans_raw WHERE attribute_types['${key}'] = 'int' AND toInt64OrZero(attributes['${key}']) > 1000`), 'ms', 1);
  record('attributes_json_query_ms', 'the same filter via JSONExtract on attributes_json', await timed(`SELECT count() FROM ${db}.attributes_json_probe WHERE toInt64OrZero(JSONExtractString(attributes_json, '${key}', 'intValue')) > 1000`), 'ms', 1);
}

interface BenchMessage {
  key: string;
  value: Buffer;
}

/** What the Kafka measurement needs of a client: produce with acks=all, read a topic from the start in a group. */
interface KafkaBenchClient {
  name: string;
  produce(topic: string, messages: BenchMessage[]): Promise<void>;
  /** Consumes `count` messages of `topic` in a new group; returns their total value bytes. */
  consume(topic: string, count: number): Promise<{ bytes: number; seconds: number }>;
  close(): Promise<void>;
}

type EachBatch = (p: { batch: { messages: Array<{ value: Buffer | null }> } }) => Promise<void>;

/** Runs a consumer's eachBatch until `count` messages were seen; value bytes and seconds from the first batch. */
function countMessages(count: number, run: (eachBatch: EachBatch) => void): Promise<{ bytes: number; seconds: number }> {
  let seen = 0;
  let bytes = 0;
  let started = 0;
  return new Promise((done) => {
    run(async ({ batch }) => {
      if (started === 0) started = performance.now();
      seen += batch.messages.length;
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      if (seen >= count) done({ bytes, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function kafkajsClient(brokers: string): KafkaBenchClient {
  const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const connected = producer.connect();
  return {
    name: 'kafkajs',
    produce: async (topic, messages) => {
      await connected;
      await producer.send({ topic, acks: -1, messages });
    },
    consume: async (topic, count) => {
      const consumer = kafka.consumer({ groupId: topic, maxBytesPerPartition: 4 * 1024 * 1024 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const consumed = await countMessages(count, (eachBatch) => void consumer.run({ partitionsConsumedConcurrently: 6, eachBatch }));
      await consumer.disconnect();
      return consumed;
    },
    close: () => producer.disconnect(),
  };
}

/** The part of @confluentinc/kafka-javascript's KafkaJS-compatible API the measurement uses. */
interface ConfluentKafkaJS {
  logLevel: { NOTHING: number };
  Kafka: new (config: object) => {
    producer(config: object): { connect(): Promise<void>; send(r: { topic: string; messages: BenchMessage[] }): Promise<unknown>; disconnect(): Promise<void> };
    consumer(config: object): {
      connect(): Promise<void>;
      subscribe(s: { topics: string[] }): Promise<void>;
      run(r: { partitionsConsumedConcurrently: number; eachBatch: EachBatch }): Promise<void>;
      disconnect(): Promise<void>;
    };
  };
}

/** @confluentinc/kafka-javascript (librdkafka) through its KafkaJS-compatible API, when it loads (an optional dependency: see README). */
async function confluentClient(brokers: string): Promise<KafkaBenchClient | null> {
  const loaded = await loadNativeClient();
  if (loaded instanceof Error) return null;
  // The module the receiver loads, seen through the wider API (a consumer too) this measurement uses.
  const native = loaded as unknown as ConfluentKafkaJS;
  const kafka = new native.Kafka({ kafkaJS: { brokers: [brokers], clientId: 'bench', logLevel: native.logLevel.NOTHING } });
  const producer = kafka.producer({ kafkaJS: { acks: -1 }, 'linger.ms': 1 });
  const connected = producer.connect();
  return {
    name: 'confluent-kafka-javascript',
    produce: async (topic, messages) => {
      await connected;
      await producer.send({ topic, messages });
    },
    consume: async (topic, count) => {
      const consumer = kafka.consumer({ kafkaJS: { groupId: topic, fromBeginning: true }, 'js.consumer.max.batch.size': 1000 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      const consumed = await countMessages(count, (eachBatch) => void consumer.run({ partitionsConsumedConcurrently: 6, eachBatch }));
      await consumer.disconnect();
      return consumed;
    },
    close: () => producer.disconnect(),
  };
}

/**
 * Per-trace OTLP messages as the receiver produces them (one send per request, 8 in flight), then
 * read back by a consumer group, for each Kafka client available.
 */
export async function kafkaProduceConsume(record: Recorder, brokers: string, messagesPerClient = 40_000): Promise<void> {
  const requests = prebuildRequests({ count: 20, spansPerRequest: 500, encoding: 'protobuf', gzip: false });
  const sends = requests.map((r) => {
    const messages = [...splitByTrace(decodeTracesProtobuf(r.body).data)].map(([key, trace]) => ({ key, value: Buffer.from(encodeTracesProtobuf(trace)) }));
    return { messages, spans: r.spans, bytes: messages.reduce((n, m) => n + m.value.length, 0) };
  });
  const admin = new Kafka({ clientId: 'bench-admin', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const clients = [kafkajsClient(brokers), await confluentClient(brokers)];
  try {
    for (const client of clients) {
      if (client === null) {
        process.stdout.write('bench: @confluentinc/kafka-javascript is not installed; only kafkajs is measured (README: Kafka clients)\n');
        continue;
      }
      const topic = `bench-${client.name}-${Date.now().toString(36)}`;
      await createTopicsWithLeaders(admin, [{ topic, numPartitions: 6 }]);
      let produced = 0;
      let spans = 0;
      let bytes = 0;
      let next = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (produced < messagesPerClient) {
            const s = sends[next++ % sends.length]!;
            produced += s.messages.length;
            await client.produce(topic, s.messages);
            spans += s.spans;
            bytes += s.bytes;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const consumed = await client.consume(topic, produced);
      await client.close();
      const key = client.name.replace(/[^a-z]+/g, '_');
      record(`${key}_produce_spans_per_s`, `${client.name} produce, acks=all, message per trace`, spans / seconds, 'spans/s');
      record(`${key}_produce_mb_per_s`, `${client.name} produce throughput`, bytes / 1e6 / seconds, 'MB/s', 1);
      record(`${key}_produce_cpu_s_per_100k_spans`, `${client.name} produce, client CPU per 100k spans`, ((used.user + used.system) / 1e6 / spans) * 100_000, 'CPU s', 2);
      record(`${key}_consume_mb_per_s`, `${client.name} consume (fetch only, no decode)`, consumed.bytes / 1e6 / consumed.seconds, 'MB/s', 1);
    }
  } finally {
    await admin.disconnect();
  }
}
