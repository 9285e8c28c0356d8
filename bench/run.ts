// `npm run bench`: per-stage micro-benchmarks, then the real pipeline under pre-built load:
// receiver and consumer as separate processes (as deployed), a real Kafka broker, the real engine.
// Prints a table and writes the results as JSON. `--target URL` points the same load at any
// OTLP/HTTP receiver for side-by-side runs; `--peers` measures each stage against the OpenTelemetry
// Collector in the same run (peers.ts) and writes bench/results/<date>.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { localClickHouse, localUsers } from '../services/shared/clickhouse/client.js';
import { ClickHouseServer } from '../services/shared/clickhouse/server.js';
import { resolveConfig } from '../services/config.js';
import { createLogger } from '../services/shared/log.js';
import { loadNativeClient } from '../services/exporters/kafka/producers.js';
import { type KafkaBroker, startKafkaBroker } from '../services/stack/kafka-broker.js';
import { clickhouseInsert, codecStages, heldBatches, kafkaProduceConsume } from './micro.js';
import { ProcessSampler, type ServiceProcess, startService } from './processes.js';
import { PROBE_TENANT, load, percentile, progressLine, query, queryNumber, topicBytes, waitStored } from './load.js';
import { runPeers } from './peers.js';
import { type Encoding, prebuildRequests } from './workload.js';

process.env.LOG_LEVEL ??= 'warn';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** How long the pipeline may take to store what was accepted once the load stops. */
const DRAIN_TIMEOUT_MS = 600_000;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    /** Offered load in spans/s; without it each connection sends as fast as it is answered. */
    rate: { type: 'string' },
    'spans-per-request': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    encoding: { type: 'string', default: 'protobuf' },
    gzip: { type: 'boolean', default: false },
    target: { type: 'string' },
    /** Partitions of the bench topic (exporters.kafka.topic_partitions). */
    partitions: { type: 'string', default: '3' },
    /** The receiver's producer: auto, kafkajs or librdkafka (exporters.kafka.client). */
    'kafka-client': { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench-results.json' },
    'micro-only': { type: 'boolean', default: false },
    'skip-micro': { type: 'boolean', default: false },
    /** `tracehouse start` without Kafka (the local durable log) instead of receiver -> Kafka -> consumer. */
    direct: { type: 'boolean', default: false },
    /** Write V8 CPU profiles of the receiver and consumer processes into this directory (with --peers: the last run of each). */
    profile: { type: 'string' },
    /** Each stage against the OpenTelemetry Collector (built by scripts/peers/otelcol.sh), same broker and ClickHouse server. */
    peers: { type: 'boolean', default: false },
    /** With --peers: which stages, of a (receiver), b (consumer, over what a wrote), c (end to end), s (1-3 consumers of one group, over what a wrote). */
    stages: { type: 'string', default: 'abc' },
  },
});

const TARGETS = { receiverSpansPerS: 150_000, endToEndSpansPerS: 100_000, freshnessP99Ms: 2000 };

/** The receiver's producer client as the services will resolve `--kafka-client`. */
async function producerClientLabel(): Promise<string> {
  const choice = args['kafka-client']!;
  if (choice !== 'auto') return choice;
  return (await loadNativeClient()) instanceof Error ? 'kafkajs (auto: librdkafka cannot be loaded)' : 'librdkafka (auto)';
}

type Row = [metric: string, value: string];
const results: Record<string, number | string> = {};
const table: Row[] = [];
function record(key: string, label: string, value: number, unit: string, digits = 0): void {
  results[key] = Number(value.toFixed(digits + 2));
  table.push([label, `${value.toLocaleString('en-US', { maximumFractionDigits: digits })} ${unit}`]);
}

/** Micro-benchmarks take seconds each: each result is shown as it is measured. */
function recordMicro(key: string, label: string, value: number, unit: string, digits = 0): void {
  record(key, label, value, unit, digits);
  progressLine(`${label}: ${table.at(-1)![1]}`);
}

async function endToEnd(broker: KafkaBroker | undefined, brokers: string): Promise<void> {
  const encoding = args.encoding as Encoding;
  const seconds = Number(args.duration);
  const concurrency = Number(args.concurrency);
  const rate = args.rate === undefined ? undefined : Number(args.rate);
  const requests = prebuildRequests({ count: 40, spansPerRequest: Number(args['spans-per-request']), encoding, gzip: args.gzip });
  Object.assign(results, { duration_s: seconds, concurrency, encoding, gzip: String(args.gzip), spans_per_request: requests[0]!.spans, offered_rate: rate ?? 'max', kafka_client: await producerClientLabel(), partitions: Number(args.partitions) });

  if (args.target) {
    const r = await load(args.target, requests, { encoding, gzip: args.gzip, seconds, concurrency, rate, probes: false });
    record('accepted_spans_per_s', `accepted by ${args.target}`, r.acceptedSpans / r.seconds, 'spans/s');
    return;
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-bench-'));
  const id = Date.now().toString(36);
  const topic = `bench-${id}`;
  // The ClickHouse server is a process of its own (as deployed), measured like the others.
  const chConfig = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
  const { endpoint, server } = await localClickHouse(chConfig, createLogger('bench', 30));
  const ch = createClient({ url: endpoint.url, username: endpoint.username, password: endpoint.password });
  const env = { KAFKA_BROKERS: brokers, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: `bench-${id}`, CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_USER: endpoint.username, CLICKHOUSE_PASSWORD: endpoint.password, KAFKA_PRODUCER_CLIENT: args['kafka-client'], KAFKA_TOPIC_PARTITIONS: args.partitions };
  const services: ServiceProcess[] = [];
  try {
    const pids = new Map<string, number>([['clickhouse server', server!.pid!]]);
    let receiver: ServiceProcess;
    if (args.direct) {
      // One process, its local durable log in the bench's data directory where Kafka would be.
      receiver = await startService('start', { ...env, KAFKA_BROKERS: '', TRACEHOUSE_DATA_DIR: dataDir }, args.profile);
      services.push(receiver);
      pids.set('tracehouse start', receiver.pid);
    } else {
      const consumer = await startService('consumer', env, args.profile);
      services.push(consumer);
      receiver = await startService('receiver', env, args.profile);
      services.push(receiver);
      pids.set('receiver', receiver.pid).set('consumer', consumer.pid);
      if (broker?.pid !== undefined) pids.set('kafka broker', broker.pid);
    }
    pids.set('load generator', process.pid);
    const sampler = new ProcessSampler(pids);
    sampler.start();
    const loadStart = performance.now();
    const r = await load(receiver.otlpUrl!, requests, { encoding, gzip: args.gzip, seconds, concurrency, rate, probes: true });
    sampler.markLoadEnd();
    const expected = r.acceptedSpans + r.probes.size;
    await waitStored(ch, 'SELECT count() FROM telemetry.spans_raw', expected, 'drain', DRAIN_TIMEOUT_MS);
    const allStored = (performance.now() - loadStart) / 1000;
    const usage = sampler.stop();

    const ingested = await query(ch, `SELECT trace_id, toUnixTimestamp64Milli(ingested_at) AS at FROM telemetry.spans_raw WHERE tenant_id = '${PROBE_TENANT}'`);
    const freshness = ingested.map((row) => Number(row.at) - r.probes.get(row.trace_id!)!).sort((a, b) => a - b);
    const bytesPerRow = await queryNumber(ch, "SELECT sum(bytes_on_disk) / sum(rows) FROM system.parts WHERE active AND database = 'telemetry' AND table = 'spans_raw'");

    const accepted = r.acceptedSpans / r.seconds;
    const committed = r.acceptedSpans / allStored;
    record('accepted_spans_per_s', args.direct ? 'receiver accepted (on disk in the local log)' : 'receiver accepted (acks=all)', accepted, 'spans/s');
    record('ack_p50_ms', `ack latency p50 (${r.ackMs.length} requests of ${requests[0]!.spans} spans, ${concurrency} connections)`, percentile(r.ackMs, 50), 'ms', 1);
    record('ack_p99_ms', 'ack latency p99', percentile(r.ackMs, 99), 'ms', 1);
    record('committed_spans_per_s', 'end to end, stored in ClickHouse', committed, 'spans/s');
    record('drain_after_load_s', 'drain time after load stopped', allStored - r.seconds, 's', 1);
    record('spans_total', 'spans accepted = spans stored', r.acceptedSpans, 'spans');
    record('retried_requests', '429/503 answers', r.retried, 'requests');
    record('freshness_p50_ms', `freshness p50 (sent -> stored, ${freshness.length} probes)`, percentile(freshness, 50), 'ms');
    record('freshness_p99_ms', 'freshness p99', percentile(freshness, 99), 'ms');
    for (const [name, u] of usage) {
      const key = name.replace(/ /g, '_');
      record(`${key}_cpu_s_per_100k_spans`, `${name} CPU per 100k spans`, (u.cpuSeconds / r.acceptedSpans) * 100_000, 'CPU s', 2);
      record(`${key}_peak_rss_mb`, `${name} peak RSS`, u.peakRssBytes / 2 ** 20, 'MiB');
      record(`${key}_rss_growth_mb`, `${name} RSS growth, 2nd half of load`, u.rssGrowthBytes / 2 ** 20, 'MiB');
      results[`${key}_rss_mb_each_second`] = u.rssSamples.map((b) => Math.round(b / 2 ** 20)).join(' ');
    }
    if (broker) record('kafka_bytes_per_span', 'Kafka bytes on disk per span', topicBytes(broker.dataDir, topic) / expected, 'B', 1);
    record('clickhouse_bytes_per_span', 'ClickHouse bytes on disk per span', bytesPerRow, 'B', 1);

    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    results.targets = JSON.stringify(TARGETS);
    table.push(['target: receiver >= 150k spans/s', verdict(accepted >= TARGETS.receiverSpansPerS)]);
    table.push(['target: end to end >= 100k spans/s', verdict(committed >= TARGETS.endToEndSpansPerS)]);
    table.push(['target: freshness p99 < 2 s', verdict(percentile(freshness, 99) < TARGETS.freshnessP99Ms)]);
  } finally {
    for (const s of services.reverse()) await s.stop();
    await ch.close();
    await server!.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const SERVER_LOGS = ['query_log', 'query_views_log', 'part_log'].map((t) => `  <${t}><database>system</database><table>${t}</table></${t}>\n`).join('');

/** `--peers`: the stages against the OpenTelemetry Collector on this broker and one ClickHouse server; results also in bench/results/<date>.json. */
async function peers(broker: KafkaBroker | undefined, brokers: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-peers-'));
  const chConfig = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
  const log = createLogger('bench', 30);
  // The server keeps query, view and merge logs here, so stage (b) can say where its CPU went.
  const server = await ClickHouseServer.start({ dataDir, httpPort: 0, tcpPort: 0, usersXml: localUsers(chConfig).usersXml, configXml: SERVER_LOGS, log });
  const { endpoint } = await localClickHouse(chConfig, log);
  const client = createClient({ url: endpoint.url, username: endpoint.username, password: endpoint.password });
  const seconds = Number(args.duration);
  const concurrency = Number(args.concurrency);
  const requests = prebuildRequests({ count: 40, spansPerRequest: Number(args['spans-per-request']), encoding: 'protobuf', gzip: false });
  Object.assign(results, { duration_s: seconds, concurrency, spans_per_request: requests[0]!.spans, partitions: Number(args.partitions), kafka_client: await producerClientLabel() });
  try {
    await runPeers({
      brokers,
      brokerPid: broker?.pid,
      clickhouse: { client, ...endpoint, tcpPort: server.tcpPort, pid: server.pid! },
      requests,
      seconds,
      concurrency,
      partitions: Number(args.partitions),
      dataDir,
      stages: args.stages!,
      producerClient: args['kafka-client']!,
      profileDir: args.profile,
      record,
      note: (label, value) => table.push([label, value]),
    });
  } finally {
    await client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const file = join(ROOT, 'bench/results', `${new Date().toISOString().slice(0, 10)}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), node: process.version, cores: cpus().length, command: `npm run bench -- ${process.argv.slice(2).join(' ')}`, results }, null, 2) + '\n');
  process.stdout.write(`peer results written to ${file}\n`);
}

async function main(): Promise<void> {
  if (!args['skip-micro']) {
    process.stdout.write('tracehouse bench: micro-benchmarks (512-span agent requests)...\n');
    codecStages(recordMicro);
    heldBatches(recordMicro);
    if (!args.target) await clickhouseInsert(recordMicro);
  }
  let broker: KafkaBroker | undefined;
  let brokers = process.env.KAFKA_BROKERS;
  const needsBroker = !args.target && !args.direct && !(args['micro-only'] && args['skip-micro']);
  if (needsBroker && !brokers) {
    broker = await startKafkaBroker();
    brokers = broker.brokers;
  }
  try {
    if (!args['skip-micro'] && brokers) await kafkaProduceConsume(recordMicro, brokers);
    if (args.peers) {
      process.stdout.write(`tracehouse bench: each stage against the OpenTelemetry Collector, ${args.duration} s of load each...\n`);
      await peers(broker, brokers ?? '');
    } else if (!args['micro-only']) {
      const what = args.target ? `load against ${args.target}` : args.direct ? 'tracehouse start: receiver -> local durable log -> ClickHouse' : 'receiver -> Kafka -> consumer -> ClickHouse';
      process.stdout.write(`tracehouse bench: ${what} for ${args.duration} s...\n`);
      await endToEnd(broker, brokers ?? '');
    }
  } finally {
    await broker?.destroy();
  }
  const width = Math.max(...table.map(([m]) => m.length));
  process.stdout.write(`\n| ${'metric'.padEnd(width)} | value\n|${'-'.repeat(width + 2)}|------\n`);
  for (const [metric, value] of table) process.stdout.write(`| ${metric.padEnd(width)} | ${value}\n`);
  writeFileSync(resolve(args.out!), JSON.stringify({ when: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${args.out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
