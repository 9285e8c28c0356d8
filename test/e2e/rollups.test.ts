// Rollups on the real engine: a few thousand generated agent spans inserted in batches; every
// rollup's merged result must equal the same aggregation over spans_raw. A batch inserted again with
// its token is dropped from spans_raw and from every rollup; different batches are never merged away.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clickhouseEnv } from '../harness/pipeline.js';
import { type ClickHouseHandle, openClickHouse } from '../../services/shared/clickhouse/client.js';
import { migrate } from '../../services/shared/clickhouse/migrate.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { type NormalizedRows, Normalizer } from '../../services/processors/genai/rows.js';
import { generate, hex } from '../harness/generated-traces.js';
import { backfillRollups } from '../../services/ops/backfill.js';

const DB = 'rollups_test';

describe('per-minute rollups and the trace index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-rollups-'));
  let ch: ClickHouseHandle;
  let sink: TelemetrySink;
  const normalizer = new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
  const batches: NormalizedRows[] = [];

  async function rows(sql: string): Promise<unknown[]> {
    return (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json();
  }

  async function assertSame(rollup: string, raw: string): Promise<void> {
    const [a, b] = [await rows(rollup), await rows(raw)];
    assert.ok(b.length > 0, 'the comparison covers some rows');
    assert.deepEqual(a, b);
  }

  before(async () => {
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, ...clickhouseEnv(), CLICKHOUSE_DATABASE: DB });
    ch = await openClickHouse(cfg.exporters.clickhouse);
    await migrate(ch.client, { database: DB, ttlDays: 30 }, createLogger('test', 40));
    sink = new TelemetrySink(ch, DB, new Registry(), createLogger('test', 50));
    // 300 traces = 3000 spans, inserted as 12 batches of 25 traces.
    const traces = generate(300, 7);
    for (let i = 0; i < traces.length; i += 25) {
      const spans = traces.slice(i, i + 25).flatMap((t) => normalizer.normalize(t).spans);
      batches.push({ spans, events: [], logs: [] });
    }
    for (const [i, b] of batches.entries()) await sink.insert(b, `rollup-test:0:${i}`);
  });
  after(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stored all 3000 spans', async () => {
    assert.deepEqual(await rows(`SELECT count() AS n FROM ${DB}.spans_raw`), [{ n: '3000' }]);
  });

  it('backfill rebuilds corrupted rollups from spans_raw, the same when run twice (the checks below run on the rebuilt tables)', async () => {
    await ch.client.command({ query: `INSERT INTO ${DB}.spans_minute (minute, tenant_id, env, service_name, operation, calls, errors, tokens_total, cost_usd) VALUES (toStartOfMinute(now()), 'tenant-0', 'prod', 'planner', 'invoke_agent helper', 1000, 7, 5, 1.5)` });
    await ch.client.command({ query: `ALTER TABLE ${DB}.tool_minute DELETE WHERE tenant_id = 'tenant-1'`, clickhouse_settings: { mutations_sync: '2' } });
    const range = { from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 120_000) };
    await backfillRollups(ch.client, DB, range);
    const once = await rows(`SELECT sum(calls) AS s, (SELECT sum(calls) FROM ${DB}.tool_minute) AS t, (SELECT sum(span_count) FROM ${DB}.trace_index) AS x FROM ${DB}.spans_minute`);
    await backfillRollups(ch.client, DB, range);
    assert.deepEqual(await rows(`SELECT sum(calls) AS s, (SELECT sum(calls) FROM ${DB}.tool_minute) AS t, (SELECT sum(span_count) FROM ${DB}.trace_index) AS x FROM ${DB}.spans_minute`), once);
    assert.deepEqual(once, [{ s: '3000', t: String((await rows(`SELECT count() AS n FROM ${DB}.spans_raw WHERE gen_ai_operation = 'execute_tool'`) as Array<{ n: string }>)[0]!.n), x: '3000' }]);
  });

  it('stores exact nanosecond timestamps at the edges of the range, and repairs unset ones', async () => {
    const [t] = generate(1, 3, 9000);
    const spans = t!.resourceSpans[0]!.scopeSpans[0]!.spans;
    const recent = BigInt(Date.now()) * 1_000_000n + 123_456_789n;
    spans[0]!.startTimeUnixNano = recent;
    spans[0]!.endTimeUnixNano = recent + 1n;
    spans[1]!.startTimeUnixNano = 0n; // unset: takes the end
    spans[1]!.endTimeUnixNano = recent + 5n;
    spans[2]!.startTimeUnixNano = 0n; // both unset: the time it was normalized
    spans[2]!.endTimeUnixNano = 0n;
    spans[3]!.startTimeUnixNano = recent;
    spans[3]!.endTimeUnixNano = 2n ** 64n - 1n; // beyond DateTime64(9): clamped
    await sink.insert(normalizer.normalize(t!), 'rollup-test:2:edges');
    const stored = (await rows(`SELECT span_id, toString(toUnixTimestamp64Nano(start_ts)) AS s, toString(toUnixTimestamp64Nano(end_ts)) AS e FROM ${DB}.spans_raw WHERE trace_id = '${hex(9001, 32)}' ORDER BY span_id`)) as Array<{ s: string; e: string }>;
    assert.equal(stored.length, 10, 'no span of the batch was rejected');
    assert.deepEqual([stored[0]!.s, stored[0]!.e], [String(recent), String(recent + 1n)]);
    assert.deepEqual([stored[1]!.s, stored[1]!.e], [String(recent + 5n), String(recent + 5n)]);
    assert.ok(Math.abs(Number(BigInt(stored[2]!.s) / 1_000_000n) - Date.now()) < 60_000);
    assert.equal(stored[3]!.e, String(2n ** 63n - 1n));
  });

  it('spans_minute equals the aggregation over spans_raw', async () => {
    await assertSame(
      `SELECT minute, tenant_id, env, service_name, operation, sum(calls) AS calls, sum(errors) AS errors, sum(tokens_total) AS tokens, sum(cost_usd) AS cost,
              quantilesTimingMerge(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
       FROM ${DB}.spans_minute GROUP BY ALL ORDER BY ALL`,
      `SELECT toStartOfMinute(toDateTime(start_ts)) AS minute, tenant_id, env, service_name, operation, count() AS calls, countIf(status_code = 'ERROR') AS errors,
              sum(tokens_total) AS tokens, sum(toDecimal128(cost_usd, 10)) AS cost, quantilesTiming(0.5, 0.9, 0.95, 0.99)(duration_ms) AS q
       FROM ${DB}.spans_raw GROUP BY ALL ORDER BY ALL`,
    );
  });

  it('llm_minute equals the aggregation over spans_raw, with unpriced calls counted', async () => {
    await assertSame(
      `SELECT minute, tenant_id, provider, model, sum(calls) AS calls, sum(errors) AS errors, sum(unpriced_calls) AS unpriced,
              sum(tokens_prompt) AS tp, sum(tokens_completion) AS tc, sum(tokens_cache_read) AS tcr, sum(tokens_total) AS tt, sum(cost_usd) AS cost,
              quantilesTimingMerge(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
       FROM ${DB}.llm_minute GROUP BY ALL ORDER BY ALL`,
      `SELECT toStartOfMinute(toDateTime(start_ts)) AS minute, tenant_id, provider, model, count() AS calls, countIf(status_code = 'ERROR') AS errors,
              countIf(cost_source = 'unpriced') AS unpriced, sum(tokens_prompt) AS tp, sum(tokens_completion) AS tc, sum(tokens_cache_read) AS tcr,
              sum(tokens_total) AS tt, sum(toDecimal128(cost_usd, 10)) AS cost, quantilesTiming(0.5, 0.9, 0.95, 0.99)(duration_ms) AS q
       FROM ${DB}.spans_raw WHERE gen_ai_operation = 'chat' GROUP BY ALL ORDER BY ALL`,
    );
    const unpriced = (await rows(`SELECT sum(unpriced_calls) AS n FROM ${DB}.llm_minute WHERE model = 'acme-unpriced-1'`)) as Array<{ n: string }>;
    assert.ok(Number(unpriced[0]!.n) > 0);
  });

  it('tool_minute equals the aggregation over spans_raw', async () => {
    await assertSame(
      `SELECT minute, tenant_id, tool_name, sum(calls) AS calls, sum(errors) AS errors, quantilesTimingMerge(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
       FROM ${DB}.tool_minute GROUP BY ALL ORDER BY ALL`,
      `SELECT toStartOfMinute(toDateTime(start_ts)) AS minute, tenant_id, tool_name, count() AS calls, countIf(status_code = 'ERROR') AS errors,
              quantilesTiming(0.5, 0.9, 0.95, 0.99)(duration_ms) AS q
       FROM ${DB}.spans_raw WHERE gen_ai_operation = 'execute_tool' GROUP BY ALL ORDER BY ALL`,
    );
  });

  it('trace_index finds a trace by id with its tenant, bounds, root and counts', async () => {
    await assertSame(
      `SELECT trace_id, tenant_id, min(start_ts) AS s, max(end_ts) AS e, max(root_service) AS root, max(root_operation) AS op, sum(span_count) AS spans, sum(error_count) AS errors, sum(cost_usd) AS cost
       FROM ${DB}.trace_index GROUP BY trace_id, tenant_id ORDER BY trace_id`,
      `SELECT trace_id, tenant_id, min(start_ts) AS s, max(end_ts) AS e, anyIf(service_name, parent_span_id = '') AS root, anyIf(operation, parent_span_id = '') AS op,
              count() AS spans, countIf(status_code = 'ERROR') AS errors, sum(toDecimal128(cost_usd, 10)) AS cost
       FROM ${DB}.spans_raw GROUP BY trace_id, tenant_id ORDER BY trace_id`,
    );
    const one = (await rows(`SELECT sum(span_count) AS spans FROM ${DB}.trace_index WHERE trace_id = '${'0'.repeat(29)}00a'`)) as Array<{ spans: string }>;
    assert.deepEqual(one, [{ spans: '10' }]);
  });

  it('ingest_watermark holds the newest span time and the span count per tenant', async () => {
    await assertSame(
      `SELECT tenant_id, max(newest_span_ts) AS newest, sum(spans) AS spans FROM ${DB}.ingest_watermark GROUP BY tenant_id ORDER BY tenant_id`,
      `SELECT tenant_id, max(start_ts) AS newest, count() AS spans FROM ${DB}.spans_raw GROUP BY tenant_id ORDER BY tenant_id`,
    );
  });

  it('drops a re-inserted batch (same token) from spans_raw and from every rollup', async () => {
    const snapshot = async () => rows(`SELECT
        (SELECT count() FROM ${DB}.spans_raw) AS raw,
        (SELECT sum(calls) FROM ${DB}.spans_minute) AS spans_minute,
        (SELECT sum(calls) FROM ${DB}.llm_minute) AS llm_minute,
        (SELECT sum(calls) FROM ${DB}.tool_minute) AS tool_minute,
        (SELECT sum(span_count) FROM ${DB}.trace_index) AS trace_index`);
    const before = await snapshot();
    await sink.insert(batches[3]!, 'rollup-test:0:3');
    assert.deepEqual(await snapshot(), before);
  });

  it('never drops a different batch, even when its rollup rows are identical to another batch', async () => {
    // Two batches whose spans differ only in ids: identical spans_minute blocks, different source blocks.
    const [a, b] = [generate(1, 99, 5000)[0]!, generate(1, 99, 6000)[0]!];
    const rowsA = normalizer.normalize(a);
    const rowsB = normalizer.normalize(b);
    await sink.insert(rowsA, 'rollup-test:1:a');
    await sink.insert(rowsB, 'rollup-test:1:b');
    // And the direct path, which inserts without a token.
    const [c, d] = [generate(1, 98, 7000)[0]!, generate(1, 98, 8000)[0]!];
    await sink.insert(normalizer.normalize(c));
    await sink.insert(normalizer.normalize(d));
    const traceIds = [5000, 6000, 7000, 8000].map((t) => `'${hex(t + 1, 32)}'`).join(',');
    assert.deepEqual(await rows(`SELECT count() AS n FROM ${DB}.spans_raw WHERE trace_id IN (${traceIds})`), [{ n: '40' }]);
    assert.deepEqual(await rows(`SELECT sum(span_count) AS n FROM ${DB}.trace_index WHERE trace_id IN (${traceIds})`), [{ n: '40' }]);
    await assertSame(
      `SELECT sum(calls) AS n FROM ${DB}.spans_minute`,
      `SELECT count() AS n FROM ${DB}.spans_raw`,
    );
  });
});
