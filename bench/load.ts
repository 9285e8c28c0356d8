// The bench's load generator and result helpers: pre-built requests sent over keep-alive
// connections, as fast as answered or paced to a rate, with a freshness probe; per-process CPU is
// sampled by processes.ts.
import { readdirSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { type Encoding, type PrebuiltRequest, probeRequest } from './workload.js';

export const PROBE_TENANT = 'bench-probe';
const PROBE_EVERY_MS = 250;
const PROGRESS_EVERY_MS = 5000;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
/** One indented line of progress between the bench's headings. */
export const progressLine = (line: string): void => void process.stdout.write(`  ${line}\n`);

export interface LoadResult {
  acceptedSpans: number;
  requests: number;
  retried: number;
  seconds: number;
  probes: Map<string, number>;
  /** Milliseconds from send to answer of each acknowledged request, sorted. */
  ackMs: number[];
}

type Post = (body: Uint8Array) => Promise<number>;

function poster(url: string, encoding: Encoding, gzip: boolean, concurrency: number): { post: Post; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL('/v1/traces', url);
  const headers: Record<string, string> = { 'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json' };
  if (gzip) headers['content-encoding'] = 'gzip';
  const post: Post = (body) =>
    new Promise((resolvePost, reject) => {
      const req = request(target, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** Sends the pre-built requests for `seconds`, paced to `rate` spans/s when given, plus a freshness probe every 250 ms. */
export async function load(url: string, requests: PrebuiltRequest[], opts: { encoding: Encoding; gzip: boolean; seconds: number; concurrency: number; rate?: number; probes: boolean }): Promise<LoadResult> {
  const main = poster(url, opts.encoding, opts.gzip, opts.concurrency);
  const probeClient = poster(url, 'protobuf', false, 1);
  const result: LoadResult = { acceptedSpans: 0, requests: 0, retried: 0, seconds: 0, probes: new Map(), ackMs: [] };
  let next = 0;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const spansPerRequest = requests[0]!.spans;
  const workers = Array.from({ length: opts.concurrency }, async () => {
    while (performance.now() < deadline) {
      const i = next++;
      if (opts.rate) {
        const due = started + (i * spansPerRequest * 1000) / opts.rate;
        if (due > deadline) return;
        if (due > performance.now()) await new Promise((w) => setTimeout(w, due - performance.now()));
      }
      const r = requests[i % requests.length]!;
      const sent = performance.now();
      const status = await main.post(r.body);
      result.requests++;
      if (status === 200) {
        result.acceptedSpans += r.spans;
        result.ackMs.push(performance.now() - sent);
      }
      else if (status === 429 || status === 503) {
        result.retried++;
        await new Promise((w) => setTimeout(w, 100));
      } else throw new Error(`receiver answered ${status}`);
    }
  });
  const prober = (async () => {
    while (opts.probes && performance.now() < deadline) {
      const probe = probeRequest(PROBE_TENANT);
      if ((await probeClient.post(probe.body)) === 200) result.probes.set(probe.traceId, probe.sentAtMs);
      await new Promise((w) => setTimeout(w, PROBE_EVERY_MS));
    }
  })();
  const ticker = setInterval(() => progressLine(`load: ${Math.round((performance.now() - started) / 1000)} of ${opts.seconds} s, ${count(result.acceptedSpans)} spans accepted`), PROGRESS_EVERY_MS);
  try {
    await Promise.all([...workers, prober]);
  } finally {
    clearInterval(ticker);
  }
  result.seconds = (performance.now() - started) / 1000;
  result.ackMs.sort((a, b) => a - b);
  main.close();
  probeClient.close();
  return result;
}

export async function query(ch: ClickHouseClient, sql: string, params?: Record<string, unknown>): Promise<Array<Record<string, string>>> {
  return (await ch.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } })).json();
}

export async function queryNumber(ch: ClickHouseClient, sql: string): Promise<number> {
  return Number(Object.values((await query(ch, sql))[0]!)[0]);
}

/** Waits until `sql` counts `expected` spans, saying how far it is every 5 s; more than expected is an error too. */
export async function waitStored(ch: ClickHouseClient, sql: string, expected: number, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reported = Date.now();
  let stored = 0;
  while ((stored = await queryNumber(ch, sql)) < expected) {
    if (Date.now() > deadline) throw new Error(`${what}: only ${stored} of ${expected} spans stored`);
    if (Date.now() - reported >= PROGRESS_EVERY_MS) {
      reported = Date.now();
      progressLine(`${what}: ${count(stored)} of ${count(expected)} spans stored`);
    }
    await new Promise((w) => setTimeout(w, 250));
  }
  if (stored !== expected) throw new Error(`${what}: ${stored} spans stored for ${expected}`);
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Bytes of the topic's partition logs on the broker's disk. */
export function topicBytes(dataDir: string, topic: string): number {
  let bytes = 0;
  for (const dir of readdirSync(dataDir)) {
    if (!new RegExp(`^${topic}-\\d+$`).test(dir)) continue;
    for (const f of readdirSync(join(dataDir, dir))) if (f.endsWith('.log')) bytes += statSync(join(dataDir, dir, f)).size;
  }
  return bytes;
}
