// `npm run bench -- --peers`: Tracehouse against the OpenTelemetry Collector (built by
// scripts/peers/otelcol.sh) in one run, on the same broker, the same ClickHouse server process and
// the same pre-built requests, stage by stage:
//  (a) receiver: OTLP/HTTP -> Kafka acks=all. The Collector's durable config (otlp -> kafka, no
//      batch processor, no sending queue: it answers once Kafka acked, as Tracehouse does) and its
//      default config (batch + sending queue: it answers before Kafka has the data).
//  (b) consumer: the topic (a) filled, read into ClickHouse by the Tracehouse consumer and by the
//      Collector's kafkareceiver -> batch -> clickhouseexporter (native protocol), each alone; then
//      each one's tables merged to one part, for what the merges left after the window cost.
//  (c) end to end: Tracehouse receiver + consumer, then Collector otlp -> kafka + Collector
//      kafka -> clickhouse, under the same load until all is stored.
//  (s) scale-out: the topic (a) filled, read by 1, 2, then 3 Tracehouse consumers of one group
//      (started together, so the group rebalances as they join, as it does in a deployment).
// CPU per process comes from /proc (processes.ts); rows and bytes written from the server's
// system.events and system.parts; in (b), the server's CPU per table and per merge from its
// query, view and part logs. Tracehouse / Collector ratios go in the results.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../services/shared/ports.js';
import { load, query, queryNumber, waitStored } from './load.js';
import type { Recorder } from './micro.js';
import { ProcessSampler, type ProcessUsage, procStat, startService } from './processes.js';
import type { PrebuiltRequest } from './workload.js';
import { createTopicsWithLeaders } from '../services/shared/kafka.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = 120_000;
const STORE_TIMEOUT_MS = 900_000;

export interface PeerBench {
  brokers: string;
  brokerPid: number | undefined;
  clickhouse: { client: ClickHouseClient; url: string; username: string; password: string; tcpPort: number; pid: number };
  requests: PrebuiltRequest[];
  seconds: number;
  concurrency: number;
  partitions: number;
  dataDir: string;
  /** The stages to run, of `abcs` (b and s read the topic a filled, so they run a too). */
  stages: string;
  /** The receiver's producer client (`--kafka-client`: auto, kafkajs or librdkafka). */
  producerClient: string;
  /** Write V8 CPU profiles of the Tracehouse processes here (`--profile`). */
  profileDir?: string;
  record: Recorder;
  note(label: string, value: string): void;
}

/** The Collector binary, built on first use (minutes; later runs find it). */
function otelcolBinary(): string {
  process.stdout.write('tracehouse bench: building the OpenTelemetry Collector (scripts/peers/otelcol.sh)...\n');
  return execFileSync('bash', [join(ROOT, 'scripts/peers/otelcol.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
}

interface Running {
  name: string;
  pid: number;
  /** Where a receiver takes OTLP/HTTP. */
  url?: string;
  stop(): Promise<void>;
}

/** A Collector with `config` (JSON is YAML), ready once it logs so. */
async function startCollector(bin: string, name: string, config: unknown, dir: string, url?: string): Promise<Running> {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(bin, ['--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!log.includes('Everything is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start:\n${log}`);
    }
    await new Promise((w) => setTimeout(w, 100));
  }
  return {
    name,
    pid: child.pid!,
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A Collector receiving OTLP/HTTP on a free port: otlp -> kafka. */
async function collectorIngest(bin: string, bench: PeerBench, name: string, topic: string, durable: boolean): Promise<Running> {
  const port = await freePort();
  return startCollector(bin, name, ingestConfig(port, bench.brokers, topic, durable), bench.dataDir, `http://127.0.0.1:${port}`);
}

const TELEMETRY = { metrics: { level: 'none' }, logs: { level: 'info' } };

/** otlp -> kafka; `durable`: no batch processor and no sending queue, so the answer waits for Kafka's ack. */
function ingestConfig(port: number, brokers: string, topic: string, durable: boolean): unknown {
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
    processors: { batch: {} },
    exporters: { kafka: { brokers: [brokers], traces: { topic, encoding: 'otlp_proto' }, partition_traces_by_id: true, producer: { required_acks: -1 }, sending_queue: { enabled: !durable } } },
    service: { telemetry: TELEMETRY, pipelines: { traces: { receivers: ['otlp'], processors: durable ? [] : ['batch'], exporters: ['kafka'] } } },
  };
}

/** kafkareceiver -> batch (the clickhouseexporter README's settings) -> clickhouseexporter over the native protocol. */
function storeConfig(bench: PeerBench, topic: string, group: string, database: string): unknown {
  const ch = bench.clickhouse;
  return {
    receivers: { kafka: { brokers: [bench.brokers], traces: { topics: [topic], encoding: 'otlp_proto' }, group_id: group, initial_offset: 'earliest' } },
    processors: { batch: { timeout: '5s', send_batch_size: 100_000 } },
    exporters: { clickhouse: { endpoint: `tcp://127.0.0.1:${ch.tcpPort}?dial_timeout=10s`, database, username: ch.username, password: ch.password, create_schema: true, ttl: '72h', timeout: '30s' } },
    service: { telemetry: TELEMETRY, pipelines: { traces: { receivers: ['kafka'], processors: ['batch'], exporters: ['clickhouse'] } } },
  };
}

async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ brokers: [brokers], clientId: 'bench-peers', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: partitions }]);
  } finally {
    await admin.disconnect();
  }
}

/** INSERT queries, rows and bytes the server inserted (rows and bytes counting materialized views' targets). */
async function inserted(ch: ClickHouseClient): Promise<{ queries: number; rows: number; bytes: number }> {
  const rows = await query(ch, "SELECT event, value FROM system.events WHERE event IN ('InsertQuery', 'InsertedRows', 'InsertedBytes')");
  const value = (e: string): number => Number(rows.find((r) => r.event === e)?.value ?? 0);
  return { queries: value('InsertQuery'), rows: value('InsertedRows'), bytes: value('InsertedBytes') };
}

/** What the server was given per span and per INSERT between two readings of inserted(). */
function recordInserted(bench: PeerBench, prefix: string, label: string, before: { queries: number; rows: number; bytes: number }, after: { queries: number; rows: number; bytes: number }, spans: number): void {
  const queries = after.queries - before.queries;
  bench.record(`${prefix}_insert_queries_per_100k_spans`, `${label}: INSERT queries per 100k spans`, (queries / spans) * 100_000, 'INSERTs', 1);
  bench.record(`${prefix}_rows_per_span`, `${label}: rows inserted per span (views included)`, (after.rows - before.rows) / spans, 'rows', 2);
  bench.record(`${prefix}_inserted_bytes_per_span`, `${label}: bytes inserted per span`, (after.bytes - before.bytes) / spans, 'B');
}

type Usage = Map<string, ProcessUsage>;
const perSpans = (usage: Usage, name: string, spans: number): number => ((usage.get(name)?.cpuSeconds ?? 0) / spans) * 100_000;

function recordUsage(bench: PeerBench, prefix: string, label: string, usage: Usage, spans: number): void {
  for (const [name, u] of usage) {
    const key = `${prefix}_${name.replace(/\W+/g, '_')}`;
    bench.record(`${key}_cpu_s_per_100k_spans`, `${label}: ${name} CPU per 100k spans`, (u.cpuSeconds / spans) * 100_000, 'CPU s', 2);
    if (name !== 'load generator') bench.record(`${key}_peak_rss_mb`, `${label}: ${name} peak RSS`, u.peakRssBytes / 2 ** 20, 'MiB');
  }
}

/** (a) One receiver alone under the load; returns its CPU per 100k spans and the topic it filled. */
async function receiverStage(bench: PeerBench, name: string, start: (topic: string) => Promise<Running>): Promise<{ cpu: number; topic: string; spans: number }> {
  const key = name.replace(/\W+/g, '_');
  const topic = `peers-${key}-${Date.now().toString(36)}`;
  await createTopic(bench.brokers, topic, bench.partitions);
  const receiver = await start(topic);
  try {
    const pids = new Map<string, number>([[name, receiver.pid], ['load generator', process.pid]]);
    if (bench.brokerPid !== undefined) pids.set('kafka broker', bench.brokerPid);
    const sampler = new ProcessSampler(pids);
    sampler.start();
    const r = await load(receiver.url!, bench.requests, { encoding: 'protobuf', gzip: false, seconds: bench.seconds, concurrency: bench.concurrency, probes: false });
    // A receiver that answered before Kafka had the data is still sending: its CPU counts too.
    await new Promise((w) => setTimeout(w, 3000));
    const usage = sampler.stop();
    bench.record(`receiver_${key}_accepted_spans_per_s`, `(a) ${name}: accepted`, r.acceptedSpans / r.seconds, 'spans/s');
    recordUsage(bench, `receiver_${key}`, `(a) ${name}`, usage, r.acceptedSpans);
    return { cpu: perSpans(usage, name, r.acceptedSpans), topic, spans: r.acceptedSpans };
  } finally {
    await receiver.stop();
  }
}

/** (b) One consumer alone over the filled topic, from ready until every span is stored. */
async function consumerStage(bench: PeerBench, name: string, spans: number, countSql: string, database: string, start: () => Promise<Running>): Promise<{ cpu: number; merged: number; spansPerS: number }> {
  const key = name.replace(/\W+/g, '_');
  const ch = bench.clickhouse.client;
  const before = await inserted(ch);
  const consumer = await start();
  let result: { cpu: number; server: number; spansPerS: number };
  let serverAtEnd: number;
  try {
    const sampler = new ProcessSampler(new Map([[name, consumer.pid], ['clickhouse server', bench.clickhouse.pid]]));
    sampler.start();
    const started = performance.now();
    await waitStored(ch, countSql, spans, name, STORE_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    const usage = sampler.stop();
    serverAtEnd = procStat(bench.clickhouse.pid).cpuSeconds;
    const after = await inserted(ch);
    const onDisk = await queryNumber(ch, `SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '${database}'`);
    bench.record(`consumer_${key}_spans_per_s`, `(b) ${name}: stored`, spans / seconds, 'spans/s');
    recordUsage(bench, `consumer_${key}`, `(b) ${name}`, usage, spans);
    recordInserted(bench, `consumer_${key}`, `(b) ${name}`, before, after, spans);
    bench.record(`consumer_${key}_disk_bytes_per_span`, `(b) ${name}: bytes on disk per span`, onDisk / spans, 'B', 1);
    const server = perSpans(usage, 'clickhouse server', spans);
    result = { cpu: perSpans(usage, name, spans) + server, server, spansPerS: spans / seconds };
  } finally {
    await consumer.stop();
  }
  // What merging less often costs: parts a query has to read.
  for (const p of await query(ch, `SELECT table, count() AS parts FROM system.parts WHERE active AND database = {db:String} GROUP BY table`, { db: database })) {
    bench.record(`consumer_${key}_server_parts_left_${p.table}`, `(b) ${name}: active parts at the end, ${p.table}`, Number(p.parts), 'parts');
  }
  // What the stage leaves to merge costs the server later: each pipeline's tables are merged to
  // one part per partition here, so neither's leftover merges run in the other's window.
  const tables = await query(ch, `SELECT name FROM system.tables WHERE database = '${database}' AND engine LIKE '%MergeTree'`);
  process.stdout.write(`tracehouse bench --peers: (b) ${name}: merging its ${tables.length} tables to one part\n`);
  for (const t of tables) await ch.command({ query: `OPTIMIZE TABLE ${database}.\`${t.name}\` FINAL` });
  const merged = result.server + ((procStat(bench.clickhouse.pid).cpuSeconds - serverAtEnd) / spans) * 100_000;
  bench.record(`consumer_${key}_clickhouse_server_cpu_s_per_100k_spans_merged`, `(b) ${name}: clickhouse server CPU per 100k spans, then merged to one part`, merged, 'CPU s', 2);
  await recordServerShares(bench, `consumer_${key}`, `(b) ${name}`, database, spans);
  return { cpu: result.cpu, merged: result.cpu - result.server + merged, spansPerS: result.spansPerS };
}

const QUERY_CPU_S = "(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6";
const SYSTEM_CPU_S = "ProfileEvents['SystemTimeMicroseconds'] / 1e6";

/**
 * Where the server's CPU for one pipeline's database went, by its own accounting (query_log,
 * query_views_log, part_log): each table's INSERTs (the views they feed included), each view, each
 * table's merges. Counted per query and per merge, so nothing else the server does is in it.
 */
async function recordServerShares(bench: PeerBench, prefix: string, label: string, database: string, spans: number): Promise<void> {
  const ch = bench.clickhouse.client;
  await ch.command({ query: 'SYSTEM FLUSH LOGS' });
  const all = await query(
    ch,
    `SELECT 'insert' AS phase, extract(query, '(?i)^INSERT[[:space:]]+INTO[[:space:]]+[^.]+[.][\`"]?([[:alnum:]_]+)') AS object, sum(${QUERY_CPU_S}) AS cpu, sum(${SYSTEM_CPU_S}) AS sys, 0 AS passes
       FROM system.query_log WHERE type = 'QueryFinish' AND query_kind = 'Insert' AND has(databases, {db:String}) GROUP BY object
     UNION ALL
     SELECT 'view', replaceOne(view_name, concat({db:String}, '.'), ''), sum(${QUERY_CPU_S}), sum(${SYSTEM_CPU_S}), 0
       FROM system.query_views_log WHERE startsWith(view_name, concat({db:String}, '.')) GROUP BY view_name
     UNION ALL
     SELECT 'merges', table, sumIf(${QUERY_CPU_S}, event_type = 'MergeParts'), sumIf(${SYSTEM_CPU_S}, event_type = 'MergeParts'),
            sumIf(rows, event_type = 'MergeParts') / sumIf(rows, event_type = 'NewPart')
       FROM system.part_log WHERE database = {db:String} GROUP BY table HAVING sumIf(rows, event_type = 'NewPart') > 0`,
    { db: database },
  );
  // The migrations' own bookkeeping is not the pipeline's work.
  const shares = all.filter((r) => r.object !== 'schema_migrations');
  const per100k = (seconds: number): number => (seconds / spans) * 100_000;
  for (const r of shares) {
    bench.record(`${prefix}_server_${r.phase}_${r.object}_cpu_s_per_100k_spans`, `${label}: server CPU per 100k spans, ${r.phase} ${r.object}`, per100k(Number(r.cpu)), 'CPU s', 2);
    // How often merges rewrote each row: what part sizes and the merge policy cost.
    if (r.phase === 'merges') bench.record(`${prefix}_server_merge_rewrites_${r.object}`, `${label}: rows merged per row inserted, ${r.object}`, Number(r.passes), 'x', 2);
  }
  // Views run inside the INSERTs that feed them, so the INSERTs and merges are the whole.
  const whole = shares.filter((r) => r.phase !== 'view');
  const total = whole.reduce((n, r) => n + Number(r.cpu), 0);
  bench.record(`${prefix}_server_accounted_cpu_s_per_100k_spans`, `${label}: server CPU per 100k spans in its INSERTs and merges`, per100k(total), 'CPU s', 2);
  bench.record(`${prefix}_server_system_time_share`, `${label}: share of that CPU in the kernel`, whole.reduce((n, r) => n + Number(r.sys), 0) / total, '', 2);
}

/** (c) A receiver and a consumer under the load until all is stored: stored spans/s over the whole time. */
async function endToEndStage(bench: PeerBench, name: string, countSql: string, start: () => Promise<Running[]>): Promise<{ spansPerS: number; cpu: number }> {
  const key = name.replace(/\W+/g, '_');
  const before = await inserted(bench.clickhouse.client);
  const running = await start();
  const url = running.find((r) => r.url !== undefined)!.url!;
  try {
    const pids = new Map<string, number>(running.map((r) => [r.name, r.pid]));
    pids.set('clickhouse server', bench.clickhouse.pid);
    if (bench.brokerPid !== undefined) pids.set('kafka broker', bench.brokerPid);
    const sampler = new ProcessSampler(pids);
    sampler.start();
    const started = performance.now();
    const r = await load(url, bench.requests, { encoding: 'protobuf', gzip: false, seconds: bench.seconds, concurrency: bench.concurrency, probes: false });
    sampler.markLoadEnd();
    await waitStored(bench.clickhouse.client, countSql, r.acceptedSpans, name, STORE_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    const usage = sampler.stop();
    bench.record(`e2e_${key}_accepted_spans_per_s`, `(c) ${name}: accepted`, r.acceptedSpans / r.seconds, 'spans/s');
    bench.record(`e2e_${key}_stored_spans_per_s`, `(c) ${name}: stored (accepted / time until all stored)`, r.acceptedSpans / seconds, 'spans/s');
    recordUsage(bench, `e2e_${key}`, `(c) ${name}`, usage, r.acceptedSpans);
    recordInserted(bench, `e2e_${key}`, `(c) ${name}`, before, await inserted(bench.clickhouse.client), r.acceptedSpans);
    const cpu = [...usage].filter(([n]) => n !== 'load generator').reduce((sum, [n]) => sum + perSpans(usage, n, r.acceptedSpans), 0);
    bench.record(`e2e_${key}_cpu_s_per_100k_spans`, `(c) ${name}: CPU per 100k spans, all processes but the load generator`, cpu, 'CPU s', 2);
    return { spansPerS: r.acceptedSpans / seconds, cpu };
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

function tracehouseEnv(bench: PeerBench, topic: string, database: string): NodeJS.ProcessEnv {
  const ch = bench.clickhouse;
  return { KAFKA_BROKERS: bench.brokers, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: `${topic}-tracehouse`, KAFKA_TOPIC_PARTITIONS: String(bench.partitions), KAFKA_PRODUCER_CLIENT: bench.producerClient, CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: ch.username, CLICKHOUSE_PASSWORD: ch.password, CLICKHOUSE_DATABASE: database };
}

async function tracehouse(bench: PeerBench, mode: 'receiver' | 'consumer', env: NodeJS.ProcessEnv): Promise<Running> {
  const service = await startService(mode, env, bench.profileDir);
  return { name: `tracehouse ${mode}`, pid: service.pid, url: service.otlpUrl, stop: () => service.stop() };
}

export async function runPeers(bench: PeerBench): Promise<Record<string, number>> {
  const bin = otelcolBinary();
  const ratios: Record<string, number> = {};
  const id = Date.now().toString(36);

  if (/[abs]/.test(bench.stages)) {
    process.stdout.write('tracehouse bench --peers: (a) receiver stage\n');
    const thReceiver = await receiverStage(bench, 'tracehouse receiver', (topic) => tracehouse(bench, 'receiver', tracehouseEnv(bench, topic, `th_a_${id}`)));
    const durable = await receiverStage(bench, 'otelcol durable', (topic) => collectorIngest(bin, bench, 'otelcol durable', topic, true));
    const dflt = await receiverStage(bench, 'otelcol default', (topic) => collectorIngest(bin, bench, 'otelcol default', topic, false));
    ratios.receiver_cpu_ratio_vs_otelcol = thReceiver.cpu / durable.cpu;
    ratios.receiver_cpu_ratio_vs_otelcol_default = thReceiver.cpu / dflt.cpu;
    if (bench.stages.includes('b')) await consumers(bench, bin, thReceiver, id, ratios);
    if (bench.stages.includes('s')) await scaleOut(bench, thReceiver, id);
  }
  if (bench.stages.includes('c')) await endToEnd(bench, bin, id, ratios);
  for (const [k, v] of Object.entries(ratios)) bench.record(k, `ratio ${k.replace(/_/g, ' ')}`, v, 'x', 2);
  const verdict = (ratio: number | undefined, ok: (r: number) => boolean): string => (ratio === undefined ? 'not measured' : ok(ratio) ? 'met' : 'NOT met');
  bench.note('target: receiver CPU per span <= 0.7x otelcol durable', verdict(ratios.receiver_cpu_ratio_vs_otelcol, (r) => r <= 0.7));
  bench.note('target: consumer + ClickHouse CPU per span <= 1.0x otelcol', verdict(ratios.consumer_cpu_ratio_vs_otelcol, (r) => r <= 1.0));
  bench.note('target: end-to-end spans/s >= 1.5x otelcol', verdict(ratios.e2e_throughput_ratio_vs_otelcol, (r) => r >= 1.5));
  return ratios;
}

async function consumers(bench: PeerBench, bin: string, thReceiver: { topic: string; spans: number }, id: string, ratios: Record<string, number>): Promise<void> {
  process.stdout.write(`tracehouse bench --peers: (b) consumer stage over ${thReceiver.spans} spans\n`);
  const thDb = `th_b_${id}`;
  const th = await consumerStage(bench, 'tracehouse consumer', thReceiver.spans, `SELECT count() FROM ${thDb}.spans_raw`, thDb, () => tracehouse(bench, 'consumer', tracehouseEnv(bench, thReceiver.topic, thDb)));
  const otelDb = `otel_b_${id}`;
  await bench.clickhouse.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${otelDb}` });
  const otel = await consumerStage(bench, 'otelcol kafka-clickhouse', thReceiver.spans, `SELECT count() FROM ${otelDb}.otel_traces`, otelDb, () => startCollector(bin, 'otelcol kafka-clickhouse', storeConfig(bench, thReceiver.topic, `${thReceiver.topic}-otelcol`, otelDb), bench.dataDir));
  ratios.consumer_cpu_ratio_vs_otelcol = th.cpu / otel.cpu;
  ratios.consumer_cpu_ratio_vs_otelcol_merged = th.merged / otel.merged;
  ratios.consumer_throughput_ratio_vs_otelcol = th.spansPerS / otel.spansPerS;
}

async function endToEnd(bench: PeerBench, bin: string, id: string, ratios: Record<string, number>): Promise<void> {
  process.stdout.write('tracehouse bench --peers: (c) end to end\n');
  const thTopic = `peers-e2e-th-${id}`;
  const thE2eDb = `th_c_${id}`;
  await createTopic(bench.brokers, thTopic, bench.partitions);
  const thE2e = await endToEndStage(bench, 'tracehouse', `SELECT count() FROM ${thE2eDb}.spans_raw`, async () => {
    const env = tracehouseEnv(bench, thTopic, thE2eDb);
    const consumer = await tracehouse(bench, 'consumer', env);
    return [consumer, await tracehouse(bench, 'receiver', env)];
  });
  const otelTopic = `peers-e2e-otel-${id}`;
  const otelE2eDb = `otel_c_${id}`;
  await createTopic(bench.brokers, otelTopic, bench.partitions);
  await bench.clickhouse.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${otelE2eDb}` });
  const otelE2e = await endToEndStage(bench, 'otelcol', `SELECT count() FROM ${otelE2eDb}.otel_traces`, async () => {
    const store = await startCollector(bin, 'otelcol kafka-clickhouse', storeConfig(bench, otelTopic, `${otelTopic}-otelcol`, otelE2eDb), bench.dataDir);
    return [store, await collectorIngest(bin, bench, 'otelcol otlp-kafka', otelTopic, true)];
  });
  ratios.e2e_throughput_ratio_vs_otelcol = thE2e.spansPerS / otelE2e.spansPerS;
  ratios.e2e_cpu_ratio_vs_otelcol = thE2e.cpu / otelE2e.cpu;
}

/** (s) 1..3 consumers of one group over the topic (a) filled: spans/s and CPU per span as members are added. */
async function scaleOut(bench: PeerBench, thReceiver: { topic: string; spans: number }, id: string): Promise<void> {
  const ch = bench.clickhouse.client;
  for (let members = 1; members <= Math.min(3, bench.partitions); members++) {
    process.stdout.write(`tracehouse bench --peers: (s) ${members} consumer(s) in one group over ${thReceiver.spans} spans\n`);
    const database = `th_s${members}_${id}`;
    const env = { ...tracehouseEnv(bench, thReceiver.topic, database), KAFKA_GROUP_ID: `${thReceiver.topic}-scale-${members}` };
    const before = await inserted(ch);
    const started = performance.now();
    const running = await Promise.all(Array.from({ length: members }, () => tracehouse(bench, 'consumer', env)));
    try {
      const pids = new Map<string, number>(running.map((r, i) => [`consumer ${i + 1}`, r.pid]));
      pids.set('clickhouse server', bench.clickhouse.pid);
      const sampler = new ProcessSampler(pids);
      sampler.start();
      await waitStored(ch, `SELECT count() FROM ${database}.spans_raw`, thReceiver.spans, `${members} consumers`, STORE_TIMEOUT_MS);
      const seconds = (performance.now() - started) / 1000;
      const usage = sampler.stop();
      const consumersCpu = [...usage].filter(([n]) => n.startsWith('consumer')).reduce((sum, [, u]) => sum + u.cpuSeconds, 0);
      const key = `scaleout_${members}_consumers`;
      const label = `(s) ${members} consumer(s)`;
      bench.record(`${key}_spans_per_s`, `${label}: stored (from their start until all stored)`, thReceiver.spans / seconds, 'spans/s');
      bench.record(`${key}_consumers_cpu_s_per_100k_spans`, `${label}: consumers' CPU per 100k spans, together`, (consumersCpu / thReceiver.spans) * 100_000, 'CPU s', 2);
      bench.record(`${key}_clickhouse_server_cpu_s_per_100k_spans`, `${label}: clickhouse server CPU per 100k spans`, perSpans(usage, 'clickhouse server', thReceiver.spans), 'CPU s', 2);
      recordInserted(bench, key, label, before, await inserted(ch), thReceiver.spans);
    } finally {
      await Promise.all(running.map((r) => r.stop()));
    }
  }
}
