// Per-stage micro-benchmarks: OTLP decode, per-trace encode, normalize, row encoding, ClickHouse
// insert (the real engine, with the materialized views), Kafka produce/consume (the real broker).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { splitByTrace } from '../services/receiver/process.js';
import { openClickHouse } from '../services/shared/clickhouse/client.js';
import { migrate } from '../services/shared/clickhouse/migrate.js';
import { spanRowsBody } from '../services/shared/clickhouse/row-format.js';
import { TelemetrySink } from '../services/shared/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../services/shared/config.js';
import { createLogger } from '../services/shared/log.js';
import { Registry } from '../services/shared/metrics.js';
import { type NormalizedRows, Normalizer, mergeRows } from '../services/shared/normalize/rows.js';
import { decodeTracesJson } from '../services/shared/otlp/json.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../services/shared/otlp/protobuf.js';
import { prebuildRequests } from './workload.js';

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

const normalizer = new Normalizer({ tenancy: { tenant: 'd', env: 'e' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });

export function codecStages(record: Recorder): void {
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
  record('encode_per_trace_spans_per_s', 'split per trace + protobuf encode', n * perSecond(() => {
    for (const t of splitByTrace(decoded).values()) encodeTracesProtobuf(t);
  }), 'spans/s');
  record('normalize_rows_per_s', 'normalize (GenAI, cost, events) -> rows', n * perSecond(() => normalizer.normalize(decoded)), 'spans/s');
  record('row_body_rows_per_s', 'row -> JSONCompactEachRow bytes', n * perSecond(() => spanRowsBody(rows)), 'rows/s');
}

/** Batches of `batchRows` span rows (and their events) through TelemetrySink into the embedded engine, with every materialized view. */
export async function clickhouseInsert(record: Recorder, batchRows = 10_000, batches = 12): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-bench-ch-'));
  const config = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir });
  const ch = await openClickHouse(config.clickhouse);
  try {
    const log = createLogger('bench');
    await migrate(ch.client, config.clickhouse, log);
    const sink = new TelemetrySink(ch, config.clickhouse.database, new Registry(), log);
    const batchesOfRows: NormalizedRows[] = [];
    const requests = prebuildRequests({ count: batches, spansPerRequest: batchRows, encoding: 'protobuf', gzip: false });
    for (const r of requests) batchesOfRows.push(normalizer.normalize(decodeTracesProtobuf(r.body).data));
    await sink.insert(mergeRows([batchesOfRows[0]!]), 'bench:warmup');
    let spans = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const [i, rows] of batchesOfRows.entries()) {
      await sink.insert(rows, `bench:${i}`);
      spans += rows.spans.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    record('clickhouse_insert_rows_per_s', `ClickHouse insert (${batchRows.toLocaleString('en-US')}-row batches, MVs)`, spans / seconds, 'spans/s');
    record('clickhouse_insert_cpu_s_per_100k', 'ClickHouse insert CPU per 100k spans', ((used.user + used.system) / 1e6 / spans) * 100_000, 'CPU s', 2);
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-trace OTLP messages as the receiver produces them, then read back by a consumer group. */
export async function kafkaProduceConsume(record: Recorder, brokers: string, messagesPerClient = 40_000): Promise<void> {
  const requests = prebuildRequests({ count: 20, spansPerRequest: 500, encoding: 'protobuf', gzip: false });
  const sends = requests.map((r) => {
    const messages = [...splitByTrace(decodeTracesProtobuf(r.body).data)].map(([key, trace]) => ({ key, value: Buffer.from(encodeTracesProtobuf(trace)) }));
    return { messages, spans: r.spans };
  });
  const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING });
  const topic = `bench-kafkajs-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  let producedSpans = 0;
  let producedBytes = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (produced < messagesPerClient) {
        const s = sends[next++ % sends.length]!;
        produced += s.messages.length;
        await producer.send({ topic, acks: -1, messages: s.messages });
        producedSpans += s.spans;
        producedBytes += s.messages.reduce((n, m) => n + m.value.length, 0);
      }
    }),
  );
  const produceSeconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  record('kafkajs_produce_spans_per_s', `kafkajs produce, acks=all (${Math.round(produced / (producedSpans / 500))} msgs/request)`, producedSpans / produceSeconds, 'spans/s');
  record('kafkajs_produce_mb_per_s', 'kafkajs produce throughput', producedBytes / 1e6 / produceSeconds, 'MB/s', 1);

  const consumer = kafka.consumer({ groupId: topic, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let consumedBytes = 0;
  let consumeStarted = 0;
  await new Promise<void>((done) => {
    void consumer.run({
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch }) => {
        if (consumeStarted === 0) consumeStarted = performance.now();
        consumed += batch.messages.length;
        for (const m of batch.messages) consumedBytes += m.value?.length ?? 0;
        if (consumed >= produced) done();
      },
    });
  });
  const consumeSeconds = (performance.now() - consumeStarted) / 1000;
  await consumer.disconnect();
  record('kafkajs_consume_mb_per_s', 'kafkajs consume (fetch only, no decode)', consumedBytes / 1e6 / consumeSeconds, 'MB/s', 1);
  record('kafkajs_consume_spans_per_s', 'kafkajs consume rate in spans', (consumed / produced) * producedSpans / consumeSeconds, 'spans/s');
}
