// `tracehouse cost explain` on stored spans: each model call of a trace broken into tokens x price
// per kind, the price row named, the recomputed total equal to the stored cost; unpriced models
// said so; a bad id refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { explainCost } from '../../services/ops/cost-explain.js';
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

  it('refuses an id that is neither a trace nor a span id, and says when nothing is stored', async () => {
    await assert.rejects(explain('nope'), (err: unknown) => err instanceof ConfigError && /trace id \(32 hex digits\) or a span id \(16\)/.test(err.message));
    assert.equal(await explain('f'.repeat(32)), `no model calls stored for trace_id ${'f'.repeat(32)}\n`);
  });
});
