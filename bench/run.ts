// `npm run bench`: per-stage micro-benchmarks, then a run of the real pipeline (receiver -> real
// Kafka -> consumer -> ClickHouse) in its own process under pre-built load. Prints a table and
// writes the results as JSON. `--target URL` points the same load at any OTLP/HTTP receiver.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { splitByTrace } from '../services/receiver/process.js';
import { spanRowsToJsonEachRow } from '../services/shared/clickhouse/row-format.js';
import { Normalizer } from '../services/shared/normalize/rows.js';
import { decodeTracesJson } from '../services/shared/otlp/json.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../services/shared/otlp/protobuf.js';
import { type KafkaBroker, freePort, startKafkaBroker } from '../test/harness/kafka-broker.js';
import { type Encoding, type PrebuiltRequest, prebuildRequests } from './workload.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    'spans-per-request': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    encoding: { type: 'string', default: 'protobuf' },
    gzip: { type: 'boolean', default: false },
    target: { type: 'string' },
    out: { type: 'string', default: 'bench-results.json' },
    'micro-only': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of the pipeline process into this directory. */
    profile: { type: 'string' },
  },
});

type Row = [metric: string, value: string];
const results: Record<string, number | string> = {};
const table: Row[] = [];
function record(key: string, label: string, value: number, unit: string, digits = 0): void {
  results[key] = Number(value.toFixed(digits + 2));
  table.push([label, `${value.toLocaleString('en-US', { maximumFractionDigits: digits })} ${unit}`]);
}

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

function micro(): void {
  const [proto] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'protobuf', gzip: false, tenant: 'micro' });
  const [json] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'json', gzip: false, tenant: 'micro' });
  const [gz] = prebuildRequests({ count: 1, spansPerRequest: 512, encoding: 'protobuf', gzip: true, tenant: 'micro' });
  const n = proto!.spans;
  const jsonText = Buffer.from(json!.body).toString('utf8');
  const decoded = decodeTracesProtobuf(proto!.body).data;
  const normalizer = new Normalizer({ tenancy: { tenant: 'd', env: 'e' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
  const rows = normalizer.normalize(decoded).spans;
  results.micro_request_spans = n;
  results.micro_request_bytes_protobuf = proto!.body.length;
  results.micro_request_bytes_json = json!.body.length;
  record('decode_protobuf_spans_per_s', 'OTLP protobuf decode', n * perSecond(() => decodeTracesProtobuf(proto!.body)), 'spans/s');
  record('decode_protobuf_gzip_spans_per_s', 'OTLP protobuf gunzip + decode', n * perSecond(() => decodeTracesProtobuf(gunzipSync(gz!.body))), 'spans/s');
  record('decode_json_spans_per_s', 'OTLP JSON decode', n * perSecond(() => decodeTracesJson(jsonText)), 'spans/s');
  record('encode_per_trace_spans_per_s', 'split per trace + protobuf encode', n * perSecond(() => {
    for (const t of splitByTrace(decoded).values()) encodeTracesProtobuf(t);
  }), 'spans/s');
  record('normalize_rows_per_s', 'normalize (GenAI, cost, events) -> rows', n * perSecond(() => normalizer.normalize(decoded)), 'spans/s');
  record('row_json_rows_per_s', 'row -> JSONEachRow text', n * perSecond(() => spanRowsToJsonEachRow(rows)), 'rows/s');
}

interface LoadResult {
  acceptedSpans: number;
  requests: number;
  retried: number;
  seconds: number;
}

async function load(url: string, requests: PrebuiltRequest[], encoding: Encoding, gzip: boolean, seconds: number, concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL('/v1/traces', url);
  const headers: Record<string, string> = { 'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json' };
  if (gzip) headers['content-encoding'] = 'gzip';
  const post = (body: Uint8Array): Promise<number> =>
    new Promise((resolvePost, reject) => {
      const req = request(target, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  const result: LoadResult = { acceptedSpans: 0, requests: 0, retried: 0, seconds: 0 };
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const r = requests[next++ % requests.length]!;
        const status = await post(r.body);
        result.requests++;
        if (status === 200) result.acceptedSpans += r.spans;
        else if (status === 429 || status === 503) {
          result.retried++;
          await new Promise((w) => setTimeout(w, 100));
        } else throw new Error(`receiver answered ${status}`);
      }
    }),
  );
  result.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return result;
}

function procStat(pid: number): { cpuSeconds: number; peakRssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, peakRssBytes: Number(hwm?.[1] ?? 0) * 1024 };
}

async function startPipeline(brokers: string): Promise<{ child: ChildProcess; otlpUrl: string; adminUrl: string; dataDir: string }> {
  const [otlpPort, adminPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-bench-'));
  const id = Date.now().toString(36);
  const env = { ...process.env, KAFKA_BROKERS: brokers, KAFKA_TOPIC: `bench-${id}`, KAFKA_GROUP_ID: `bench-${id}`, TRACEHOUSE_DATA_DIR: dataDir, OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`, TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${adminPort}`, LOG_LEVEL: 'warn' };
  const nodeArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/services/cli.js'), 'start'], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  await new Promise<void>((ready, fail) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('Tracehouse is running')) ready();
    });
    child.once('exit', (code) => fail(new Error(`pipeline exited with ${code}: ${stderr}`)));
  });
  return { child, otlpUrl: `http://127.0.0.1:${otlpPort}`, adminUrl: `http://127.0.0.1:${adminPort}`, dataDir };
}

async function queryNumber(adminUrl: string, sql: string): Promise<number> {
  const res = await fetch(`${adminUrl}/query`, { method: 'POST', body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`query failed: ${text}`);
  return Number(Object.values(JSON.parse(text.trim().split('\n')[0]!) as Record<string, string>)[0]);
}

async function endToEnd(): Promise<void> {
  const encoding = args.encoding as Encoding;
  if (encoding !== 'protobuf' && encoding !== 'json') throw new Error('--encoding is protobuf or json');
  const seconds = Number(args.duration);
  const concurrency = Number(args.concurrency);
  const requests = prebuildRequests({ count: 40, spansPerRequest: Number(args['spans-per-request']), encoding, gzip: args.gzip });
  Object.assign(results, { duration_s: seconds, concurrency, encoding, gzip: String(args.gzip), spans_per_request: requests[0]!.spans });

  if (args.target) {
    const r = await load(args.target, requests, encoding, args.gzip, seconds, concurrency);
    record('accepted_spans_per_s', `accepted by ${args.target}`, r.acceptedSpans / r.seconds, 'spans/s');
    return;
  }

  let broker: KafkaBroker | undefined;
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    broker = await startKafkaBroker();
    brokers = broker.brokers;
  }
  const pipeline = await startPipeline(brokers);
  try {
    const before = procStat(pipeline.child.pid!);
    const loadStart = performance.now();
    const r = await load(pipeline.otlpUrl, requests, encoding, args.gzip, seconds, concurrency);
    let stored = 0;
    while ((stored = await queryNumber(pipeline.adminUrl, 'SELECT count() FROM telemetry.spans_raw')) < r.acceptedSpans) {
      if (performance.now() - loadStart > (seconds + 300) * 1000) throw new Error(`only ${stored} of ${r.acceptedSpans} spans reached ClickHouse`);
      await new Promise((w) => setTimeout(w, 100));
    }
    const allCommitted = (performance.now() - loadStart) / 1000;
    const after = procStat(pipeline.child.pid!);
    const bytesPerRow = await queryNumber(pipeline.adminUrl, "SELECT sum(bytes_on_disk) / sum(rows) FROM system.parts WHERE active AND database = 'telemetry' AND table = 'spans_raw'");
    record('accepted_spans_per_s', 'receiver accepted (acks=all)', r.acceptedSpans / r.seconds, 'spans/s');
    record('committed_spans_per_s', 'end to end, committed to ClickHouse', r.acceptedSpans / allCommitted, 'spans/s');
    record('drain_after_load_s', 'drain time after load stopped', allCommitted - r.seconds, 's', 1);
    record('spans_total', 'spans accepted = spans stored', r.acceptedSpans, 'spans');
    record('retried_requests', '429/503 answers', r.retried, 'requests');
    record('pipeline_cpu_s_per_100k_spans', 'pipeline process CPU per 100k spans', ((after.cpuSeconds - before.cpuSeconds) / r.acceptedSpans) * 100_000, 'CPU s', 2);
    record('pipeline_peak_rss_mb', 'pipeline process peak RSS', after.peakRssBytes / 1024 / 1024, 'MiB');
    record('clickhouse_bytes_per_span', 'ClickHouse bytes on disk per span', bytesPerRow, 'B', 1);
  } finally {
    pipeline.child.kill('SIGTERM');
    await new Promise((done) => pipeline.child.once('exit', done));
    rmSync(pipeline.dataDir, { recursive: true, force: true });
    await broker?.destroy();
  }
}

async function main(): Promise<void> {
  process.stdout.write('tracehouse bench: micro-benchmarks (512-span agent request)...\n');
  micro();
  if (!args['micro-only']) {
    process.stdout.write(`tracehouse bench: ${args.target ? `load against ${args.target}` : 'receiver -> Kafka -> consumer -> ClickHouse'} for ${args.duration} s...\n`);
    await endToEnd();
  }
  const width = Math.max(...table.map(([m]) => m.length));
  process.stdout.write(`\n| ${'metric'.padEnd(width)} | value\n|${'-'.repeat(width + 2)}|------\n`);
  for (const [metric, value] of table) process.stdout.write(`| ${metric.padEnd(width)} | ${value}\n`);
  writeFileSync(args.out!, JSON.stringify({ when: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${args.out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
