// `tracehouse cost explain` on stored spans: each model call of a trace broken into tokens x price
// per kind, the price row named, the recomputed total equal to the stored cost; unpriced models
// said so; a bad id refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { explainCost } from '../../services/ops/cost-explain.js';
import { backfillCost } from '../../services/ops/backfill-cost.js';
import { PRICE_VERSION, PriceTable } from '../../services/processors/genai/pricing.js';
import { ConfigError } from '../../services/shared/config-error.js';
import { generate } from '../harness/generated-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

describe('tracehouse cost explain', () => {
  let pipeline: TestPipeline;
  const traces = generate(6, 77, 9000);
  const explain = (id: string): Promise<string> => explainCost(pipeline.app.clickhouse!.client, pipeline.config.exporters.clickhouse.database, id, new PriceTable());

  before(async () => {
    pipeline = await startTestPipeline('all', testConfig());
    for (const t of traces) {
      const res = await fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body: encodeTracesProtobuf(t), headers: { 'content-type': 'application/x-protobuf' } });
      assert.equal(res.status, 200);
    }
    const ids = traces.map((t) => t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId);
    await waitFor(async () => (await pipeline.query(`SELECT count() AS n FROM ${pipeline.config.exporters.clickhouse.database}.spans_raw WHERE has({ids: Array(String)}, trace_id)`, { ids }))[0]!.n === String(traces.length * 10), 30_000, 'the traces stored');
  });
  after(async () => pipeline?.stop());

  it('breaks every priced call into tokens x price and totals to the stored cost', async () => {
    const db = pipeline.config.exporters.clickhouse.database;
    const traceId = traces[0]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId;
    const calls = await pipeline.query<{ span_id: string; cost: string; cost_source: string }>(`SELECT span_id, toString(cost_usd) AS cost, cost_source FROM ${db}.spans_raw WHERE trace_id = {t:String} AND cost_source != '' ORDER BY start_ts, span_id`, { t: traceId });
    assert.ok(calls.length > 0);
    const text = await explain(traceId);
    for (const call of calls) {
      const section = text.slice(text.indexOf(`span ${call.span_id}`)).split('\nspan ')[0]!;
      if (call.cost_source === 'computed') {
        assert.match(section, new RegExp(`price row: ${PRICE_VERSION.replace(/[.+/]/g, '\\$&')}: `), section);
        assert.match(section, /input +\d+ tokens x \$[\d.]+\/1M = \$/);
        const total = Number(/ total +\$([\d.]+)/.exec(section)![1]);
        assert.ok(Math.abs(total - Number(call.cost)) < 1e-9, `${section}\nstored ${call.cost}`);
        assert.doesNotMatch(section, /differs/);
      } else {
        assert.equal(call.cost_source, 'unpriced');
        assert.match(section, /unpriced: neither processors\.genai\.prices nor the price database knows this model/);
      }
    }
    assert.match(text, new RegExp(`${calls.length} model calls?, stored cost \\$`));
    // One span alone.
    assert.match(await explain(calls[0]!.span_id), new RegExp(`^span ${calls[0]!.span_id} `));
  });

  it('backfill cost re-prices the stored calls with new prices and rebuilds the rollups to match, the same on a second run', async () => {
    const db = pipeline.config.exporters.clickhouse.database;
    const range = { from: new Date(Date.now() - 30 * 60_000), to: new Date(Date.now() + 60_000) };
    const tenants = ['tenant-0', 'tenant-1', 'tenant-2'];
    const newPrices = new PriceTable([{ provider: 'openai', model: 'gpt-4o', effective_from: '2020-01-01', input: 100, output: 200, cache_read: 50 }]);
    const totals = async (): Promise<{ raw: string; rollup: string }> => {
      const [raw] = await pipeline.query<{ c: string }>(`SELECT toString(sum(cost_usd)) AS c FROM ${db}.spans_raw WHERE has({t: Array(String)}, tenant_id) AND gen_ai_operation = 'chat'`, { t: tenants });
      const [rollup] = await pipeline.query<{ c: string }>(`SELECT toString(sum(cost_usd)) AS c FROM ${db}.llm_minute WHERE has({t: Array(String)}, tenant_id)`, { t: tenants });
      return { raw: raw!.c, rollup: rollup!.c };
    };
    // An INSERT's spans_raw part can be visible a moment before its views' parts: wait until they agree.
    let before = await totals();
    await waitFor(async () => (before = await totals()).raw === before.rollup, 10_000, 'llm_minute to match spans_raw before the backfill');
    const result = await backfillCost(pipeline.app.clickhouse!.client, db, range, newPrices);
    assert.ok(result.calls > 0);
    const rows = await pipeline.query<Record<string, string>>(
      `SELECT model, provider, toString(toDate(start_ts)) AS day, tokens_prompt, tokens_completion, tokens_cache_read, tokens_cache_write, tokens_reasoning, toString(cost_usd) AS cost, cost_source, price_version
       FROM ${db}.spans_raw WHERE has({t: Array(String)}, tenant_id) AND gen_ai_operation = 'chat'`,
      { t: tenants },
    );
    for (const r of rows) {
      const usage = { tokens_prompt: Number(r.tokens_prompt), tokens_completion: Number(r.tokens_completion), tokens_cache_read: Number(r.tokens_cache_read), tokens_cache_write: Number(r.tokens_cache_write), tokens_reasoning: Number(r.tokens_reasoning) };
      const want = newPrices.cost(r.model!, r.provider!, r.day!, usage, null);
      assert.equal(r.cost_source, want.cost_source, `${r.model}`);
      assert.ok(Math.abs(Number(r.cost) - want.cost_usd) < 1e-9, `${r.model}: ${r.cost} vs ${want.cost_usd}`);
      assert.equal(r.price_version, `${PRICE_VERSION}+custom1`);
    }
    const after = await totals();
    assert.notEqual(after.raw, before.raw, 'gpt-4o calls now cost more');
    assert.equal(after.rollup, after.raw, 'llm_minute rebuilt to the new costs');
    await backfillCost(pipeline.app.clickhouse!.client, db, range, newPrices);
    assert.deepEqual(await totals(), after, 'a second run changes nothing');
  });

  it('refuses an id that is neither a trace nor a span id, and says when nothing is stored', async () => {
    await assert.rejects(explain('nope'), (err: unknown) => err instanceof ConfigError && /trace id \(32 hex digits\) or a span id \(16\)/.test(err.message));
    assert.equal(await explain('f'.repeat(32)), `no model calls stored for trace_id ${'f'.repeat(32)}\n`);
  });
});
