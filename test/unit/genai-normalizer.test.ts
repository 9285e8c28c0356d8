// The GenAI normalizer: the dialect fixtures (test/fixtures/genai-dialects.ts, each row asserting every
// canonical column), the price sources, the content policy, and the genai processor's metrics.
import assert from 'node:assert/strict';
import { unusedResources } from '../harness/resources.js';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeTracesJson } from '../../services/otlp/json.js';
import { NORMALIZER_VERSION } from '../../services/processors/genai/genai.js';
import { calcPrice } from '@pydantic/genai-prices';
import { genaiProcessorFactory } from '../../services/processors/genai/processor.js';
import type { ComponentType, TracesConsumer } from '../../services/component/component.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { generate } from '../harness/generated-traces.js';
import { type AttrValue, type Canonical, DIALECT_FIXTURES } from '../fixtures/genai-dialects.js';
import { modelKey, PRICE_VERSION, PriceTable } from '../../services/processors/genai/pricing.js';
import { type NormalizedRows, Normalizer, type SpanRow } from '../../services/processors/genai/rows.js';


function attr(key: string, v: AttrValue): unknown {
  if (Array.isArray(v)) return { key, value: { arrayValue: { values: v.map((s) => ({ stringValue: s })) } } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  return { key, value: { stringValue: v } };
}

// 2025-09-15, inside every shipped price's validity.
const START_NS = 1757894400000000000n;

function normalizeOne(attrs: Record<string, AttrValue>, opts: { status?: number; events?: unknown[]; tenant?: string; normalizer?: Normalizer; name?: string } = {}): { span: SpanRow } {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', 'agent-svc'), attr('tenant.id', opts.tenant ?? 'acme')] },
        scopeSpans: [
          {
            scope: { name: 'fixture' },
            spans: [
              {
                traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                spanId: '00f067aa0ba902b7',
                name: opts.name ?? 'fixture span',
                kind: 3,
                startTimeUnixNano: START_NS.toString(),
                endTimeUnixNano: (START_NS + 1_250_000_000n).toString(),
                attributes: Object.entries(attrs).map(([k, v]) => attr(k, v)),
                events: opts.events ?? [],
                status: { code: opts.status ?? 0 },
              },
            ],
          },
        ],
      },
    ],
  };
  const normalizer = opts.normalizer ?? new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
  const rows = normalizer.normalize(decodeTracesJson(JSON.stringify(body)).data);
  assert.equal(rows.events.length, 0, 'span events are nested in the span row only');
  return { span: rows.spans[0]! };
}

const CANONICAL: ReadonlyArray<keyof Canonical> = [
  'gen_ai_operation', 'agent_name', 'provider', 'model', 'request_model', 'tool_name',
  'tokens_prompt', 'tokens_completion', 'tokens_cache_read', 'tokens_cache_write', 'tokens_reasoning', 'tokens_total',
  'cost_usd', 'cost_source', 'user_id', 'session_id', 'workflow_id', 'error_type',
];

const NONE: Canonical = {
  gen_ai_operation: '', agent_name: '', provider: '', model: '', request_model: '', tool_name: '',
  tokens_prompt: 0, tokens_completion: 0, tokens_cache_read: 0, tokens_cache_write: 0, tokens_reasoning: 0, tokens_total: 0,
  cost_usd: 0, cost_source: '', user_id: '', session_id: '', workflow_id: '', error_type: '',
};

function assertCanonical(row: SpanRow, want: Partial<Canonical>): void {
  const expected = { ...NONE, ...want };
  const got = Object.fromEntries(CANONICAL.map((k) => [k, row[k]]));
  if (typeof expected.cost_usd === 'number' && expected.cost_source === 'computed') {
    assert.ok(Math.abs((got.cost_usd as number) - expected.cost_usd) < 1e-12, `cost ${got.cost_usd} != ${expected.cost_usd}`);
    got.cost_usd = expected.cost_usd;
  }
  assert.deepEqual(got, expected);
  assert.equal(row.normalizer_version, NORMALIZER_VERSION);
}


describe('GenAI conformance fixtures (test/fixtures/genai-dialects.ts)', () => {
  for (const f of DIALECT_FIXTURES) {
    it(`${f.dialect}: ${f.case}`, () => {
      assertCanonical(normalizeOne(f.attributes, { status: f.status, name: f.name }).span, f.expect);
    });
  }

  it('OTel GenAI: an execute_tool span takes its error type from the exception event, which its row nests', () => {
    const tool = normalizeOne({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'gen_ai.tool.call.id': 'call_1' }, {
      status: 2,
      events: [{ name: 'exception', timeUnixNano: START_NS.toString(), attributes: [attr('exception.type', 'TimeoutError'), attr('exception.message', 'took too long')] }],
    });
    assertCanonical(tool.span, { gen_ai_operation: 'execute_tool', tool_name: 'web_search', error_type: 'TimeoutError' });
    // The event names no tool of its own: the `events` view gives it the span's.
    assert.deepEqual(tool.span.events.map((e) => [e.name, e.tool_name, e.attributes['exception.type']]), [['exception', '', 'TimeoutError']]);
  });

  it('non-GenAI spans get empty canonical columns and keep their raw attributes', () => {
    const { span } = normalizeOne({ 'http.request.method': 'GET', 'url.path': '/health' });
    assertCanonical(span, {});
    assert.deepEqual(span.attributes, { 'http.request.method': 'GET', 'url.path': '/health' });
  });
});

describe('price table', () => {
  it('matches dated, prefixed and Bedrock-style model ids', () => {
    assert.deepEqual(['gpt-4o-2024-08-06', 'openai/gpt-4o', 'models/gemini-2.5-pro', 'anthropic.claude-3-5-haiku-20241022-v1:0', 'claude-sonnet-4-20250514', 'GPT-4o'].map(modelKey), ['gpt-4o', 'gpt-4o', 'gemini-2.5-pro', 'claude-3-5-haiku', 'claude-sonnet-4', 'gpt-4o']);
  });

  it('picks the database price in force on the span date (o3 was cut on 2025-06-10)', () => {
    const table = new PriceTable();
    const usage = { tokens_prompt: 1_000_000, tokens_completion: 0, tokens_cache_read: 0, tokens_cache_write: 0, tokens_reasoning: 0 };
    assert.equal(table.cost('o3', 'openai', '2025-05-01', usage, null).cost_usd, 10);
    assert.equal(table.cost('o3', 'openai', '2025-06-11', usage, null).cost_usd, 2);
  });

  it('prices the models the old hand-written table missed, exactly as the database computes them, tiers, cache and reasoning included', () => {
    const table = new PriceTable();
    const cases: Array<[string, string, string, { input: number; output: number; cacheRead?: number; cacheWrite?: number; reasoning?: number }]> = [
      // model, the span's gen_ai.provider.name, the database's provider id, usage
      ['claude-3-5-sonnet-20241022', 'anthropic', 'anthropic', { input: 1100, output: 220 }],
      ['gemini-1.5-pro-002', 'gcp.vertex_ai', 'google', { input: 1000, output: 100 }],
      ['gemini-1.5-pro-002', 'gcp.gemini', 'google', { input: 200_000, output: 1000 }],
      ['o3-mini-2025-01-31', 'openai', 'openai', { input: 3000, output: 2500, reasoning: 2000 }],
      ['gpt-4o-mini', 'openai', 'openai', { input: 1000, output: 200, cacheRead: 400 }],
      ['claude-sonnet-4-20250514', 'anthropic', 'anthropic', { input: 5000, output: 300, cacheRead: 2000, cacheWrite: 1000 }],
      ['anthropic.claude-3-5-haiku-20241022-v1:0', 'aws.bedrock', 'aws', { input: 900, output: 90 }],
      ['gpt-4o', 'azure.ai.openai', 'azure', { input: 1000, output: 100 }],
      ['mistral-large-latest', 'mistral_ai', 'mistral', { input: 1000, output: 100 }],
      ['text-embedding-3-small', '', 'openai', { input: 500, output: 0 }],
    ];
    for (const [model, provider, databaseId, u] of cases) {
      const got = table.cost(model, provider, '2026-11-01', { tokens_prompt: u.input, tokens_completion: u.output, tokens_cache_read: u.cacheRead ?? 0, tokens_cache_write: u.cacheWrite ?? 0, tokens_reasoning: u.reasoning ?? 0 }, null);
      const want = calcPrice({ input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite }, model, { providerId: databaseId, timestamp: new Date('2026-11-01T12:00:00Z') });
      assert.ok(want, `${model}: the database knows it`);
      assert.equal(got.cost_source, 'computed', `${model} via ${provider}`);
      assert.ok(Math.abs(got.cost_usd - want.total_price) < 1e-12, `${model}: ${got.cost_usd} vs the database's ${want.total_price}`);
      assert.equal(got.price_version, PRICE_VERSION);
    }
    assert.equal(table.cost('acme-unpriced-1', 'acme', '2026-11-01', { tokens_prompt: 1, tokens_completion: 1, tokens_cache_read: 0, tokens_cache_write: 0, tokens_reasoning: 0 }, null).cost_source, 'unpriced');
  });

  it('names the pinned database and its day in price_version', async () => {
    const installed = JSON.parse(readFileSync(new URL('../../../node_modules/@pydantic/genai-prices/package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(PRICE_VERSION, `genai-prices@${installed.version}/2026-09-23`, 'a database upgrade must update PRICE_DATABASE.published (pricing.ts)');
  });

  it('takes added and overriding prices from config', () => {
    const custom = new Normalizer({ tenancy: { tenant: 'd', env: 'e' }, contentMaxBytes: 16384, noContentTenants: [], prices: [
      { provider: 'acme', model: 'acme-llm-1', effective_from: '2025-01-01', input: 1, output: 2 },
      { provider: 'openai', model: 'gpt-4o', effective_from: '2024-08-06', input: 100, output: 100 },
    ] });
    const acme = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'acme-llm-1', 'gen_ai.usage.input_tokens': 1_000_000, 'gen_ai.usage.output_tokens': 500_000 }, { normalizer: custom }).span;
    assert.deepEqual([acme.cost_usd, acme.cost_source, acme.price_version], [2, 'computed', `${PRICE_VERSION}+custom2`]);
    const overridden = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1_000_000 }, { normalizer: custom }).span;
    assert.equal(overridden.cost_usd, 100);
  });
});

describe('content policy', () => {
  const capped = (tenants: string[] = []) => new Normalizer({ tenancy: { tenant: 'd', env: 'e' }, contentMaxBytes: 64, noContentTenants: tenants, prices: [] });

  it('cuts prompt/response attributes to the byte cap on a character boundary, with a marker and a flag', () => {
    const long = 'é'.repeat(100); // 200 bytes
    const { span } = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.input.messages': long, 'gen_ai.output.messages': 'short', 'http.route': long }, { normalizer: capped() });
    const cut = span.attributes['gen_ai.input.messages']!;
    assert.match(cut, /^(é){32}…\[truncated 136 bytes\]$/);
    assert.equal(span.attributes['gen_ai.output.messages'], 'short');
    assert.equal(span.attributes['http.route'], long, 'non-content attributes are never cut');
    assert.equal(span.content_truncated, 1);
    assert.equal(span.content_dropped, 0);
  });

  it('drops content entirely for tenants that switched capture off, in spans and events', () => {
    const { span } = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.prompt.0.content': 'secret', 'llm.input_messages.0.message.content': 'secret', 'gen_ai.request.model': 'gpt-4o' }, {
      normalizer: capped(['private-co']),
      tenant: 'private-co',
      events: [{ name: 'gen_ai.user.message', timeUnixNano: START_NS.toString(), attributes: [attr('content', 'secret'), attr('role', 'user')] }],
    });
    assert.deepEqual(Object.keys(span.attributes), ['gen_ai.operation.name', 'gen_ai.request.model']);
    assert.equal(span.content_dropped, 1);
    assert.deepEqual(span.events[0]!.attributes, { role: 'user' });
    const other = normalizeOne({ 'gen_ai.prompt.0.content': 'kept' }, { normalizer: capped(['private-co']), tenant: 'acme' }).span;
    assert.equal(other.attributes['gen_ai.prompt.0.content'], 'kept');
  });
});

describe('genai processor', () => {
  it('counts the model calls it could not price on /metrics, by model', async () => {
    const registry = new Registry();
    const stored: NormalizedRows[] = [];
    const config = resolveConfig({}, {});
    const processor = (await genaiProcessorFactory.create(
      {
        id: 'genai',
        pipeline: 'service.pipelines.traces',
        config: config.processors.genai,
        configOf: <D>(f: ComponentType<D>): D => (f.type === 'attributes' ? config.processors.attributes : assert.fail(`unexpected ${f.type}`)) as D,
        registry,
        log: createLogger('test', 100),
        reportFatal: (err) => assert.fail(err),
        resources: unusedResources,
      },
      { consumeRows: async (rows) => void stored.push(rows) },
      'traces',
    )) as TracesConsumer;
    for (const trace of generate(30, 5)) await processor.consumeTraces(trace, { tenant: undefined });
    const unpriced = stored.flatMap((r) => r.spans).filter((s) => s.cost_source === 'unpriced');
    assert.ok(unpriced.length > 0 && unpriced.every((s) => s.model === 'acme-unpriced-1'));
    assert.match(registry.render(), new RegExp(`tracehouse_unpriced_llm_calls_total\\{model="acme-unpriced-1"\\} ${unpriced.length}\\n`));
  });
});
