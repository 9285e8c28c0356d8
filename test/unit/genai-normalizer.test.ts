// Conformance fixtures: one realistic span per GenAI convention and version, each asserting every
// canonical column the normalizer fills. Attribute sets follow what each instrumentation emits.
import assert from 'node:assert/strict';
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
import { modelKey, PRICE_VERSION, PriceTable } from '../../services/processors/genai/pricing.js';
import { type NormalizedRows, Normalizer, type SpanRow } from '../../services/processors/genai/rows.js';

type AttrValue = string | number | boolean | string[];

function attr(key: string, v: AttrValue): unknown {
  if (Array.isArray(v)) return { key, value: { arrayValue: { values: v.map((s) => ({ stringValue: s })) } } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  return { key, value: { stringValue: v } };
}

// 2025-09-15, inside every shipped price's validity.
const START_NS = 1757894400000000000n;

function normalizeOne(attrs: Record<string, AttrValue>, opts: { status?: number; events?: unknown[]; tenant?: string; normalizer?: Normalizer; name?: string } = {}): { span: SpanRow; events: ReturnType<Normalizer['normalize']>['events'] } {
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
  return { span: rows.spans[0]!, events: rows.events };
}

const CANONICAL = [
  'gen_ai_operation', 'agent_name', 'provider', 'model', 'request_model', 'tool_name',
  'tokens_prompt', 'tokens_completion', 'tokens_cache_read', 'tokens_cache_write', 'tokens_reasoning', 'tokens_total',
  'cost_usd', 'cost_source', 'user_id', 'session_id', 'workflow_id', 'error_type',
] as const;

type Canonical = Pick<SpanRow, (typeof CANONICAL)[number]>;

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

/** USD for tokens at per-1M prices. */
const usd = (tokens: number, perMillion: number): number => (tokens * perMillion) / 1e6;

describe('GenAI conformance fixtures', () => {
  it('OTel GenAI semconv current (>= 1.37): chat with cache and reasoning tokens', () => {
    const { span } = normalizeOne({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'o3',
      'gen_ai.response.model': 'o3-2025-04-16',
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 1200,
      'gen_ai.usage.cache_read.input_tokens': 3000,
      'gen_ai.usage.cache_creation.input_tokens': 0,
      'gen_ai.usage.reasoning.output_tokens': 800,
      'gen_ai.conversation.id': 'conv-42',
      'gen_ai.agent.name': 'planner',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    // o3 after 2025-06-10: input 2, cached 0.5, output 8 (reasoning priced as output).
    assertCanonical(span, {
      gen_ai_operation: 'chat', agent_name: 'planner', provider: 'openai', model: 'o3-2025-04-16', request_model: 'o3',
      tokens_prompt: 5000, tokens_completion: 1200, tokens_cache_read: 3000, tokens_reasoning: 800, tokens_total: 6200,
      cost_usd: usd(2000, 2) + usd(3000, 0.5) + usd(400, 8) + usd(800, 8), cost_source: 'computed', session_id: 'conv-42',
    });
    assert.equal(span.price_version, PRICE_VERSION);
  });

  it('OTel GenAI semconv deprecated names (<= 1.36): gen_ai.system, prompt/completion tokens, error.type', () => {
    const { span } = normalizeOne(
      { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-20250514', 'gen_ai.usage.prompt_tokens': 1000, 'gen_ai.usage.completion_tokens': 200, 'error.type': 'rate_limit_exceeded' },
      { status: 2 },
    );
    assertCanonical(span, {
      gen_ai_operation: 'chat', provider: 'anthropic', model: 'claude-sonnet-4-20250514', request_model: 'claude-sonnet-4-20250514',
      tokens_prompt: 1000, tokens_completion: 200, tokens_total: 1200, cost_usd: usd(1000, 3) + usd(200, 15), cost_source: 'computed', error_type: 'rate_limit_exceeded',
    });
  });

  it('OTel GenAI: cache writes are priced at the cache-write price and never double counted', () => {
    const { span } = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4', 'gen_ai.usage.input_tokens': 10_000, 'gen_ai.usage.cache_creation.input_tokens': 8000, 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 });
    assertCanonical(span, {
      gen_ai_operation: 'chat', provider: 'anthropic', model: 'claude-sonnet-4', request_model: 'claude-sonnet-4',
      tokens_prompt: 10_000, tokens_completion: 100, tokens_cache_read: 1000, tokens_cache_write: 8000, tokens_total: 10_100,
      cost_usd: usd(1000, 3) + usd(1000, 0.3) + usd(8000, 3.75) + usd(100, 15), cost_source: 'computed',
    });
  });

  it('OTel GenAI: execute_tool and invoke_agent spans, exception type from the exception event', () => {
    const tool = normalizeOne({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'gen_ai.tool.call.id': 'call_1' }, {
      status: 2,
      events: [{ name: 'exception', timeUnixNano: START_NS.toString(), attributes: [attr('exception.type', 'TimeoutError'), attr('exception.message', 'took too long')] }],
    });
    assertCanonical(tool.span, { gen_ai_operation: 'execute_tool', tool_name: 'web_search', error_type: 'TimeoutError' });
    assert.deepEqual(tool.events.map((e) => [e.event_type, e.tool_name, JSON.parse(e.payload_json)['exception.type']]), [['exception', 'web_search', 'TimeoutError']]);
    const agent = normalizeOne({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'research_assistant', 'gen_ai.conversation.id': 'c-9' }, { status: 2 });
    assertCanonical(agent.span, { gen_ai_operation: 'invoke_agent', agent_name: 'research_assistant', session_id: 'c-9', error_type: '_OTHER' });
  });

  it('OpenInference LLM span: token counts, details, reported cost, session and user', () => {
    const { span } = normalizeOne({
      'openinference.span.kind': 'LLM',
      'llm.provider': 'openai',
      'llm.system': 'openai',
      'llm.model_name': 'gpt-4o-mini',
      'llm.token_count.prompt': 900,
      'llm.token_count.completion': 100,
      'llm.token_count.total': 1000,
      'llm.token_count.prompt_details.cache_read': 400,
      'llm.token_count.completion_details.reasoning': 0,
      'llm.cost.total': 0.000123,
      'session.id': 'sess-1',
      'user.id': 'u-1',
      'input.value': 'What is the weather?',
    });
    assertCanonical(span, {
      gen_ai_operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', request_model: 'gpt-4o-mini',
      tokens_prompt: 900, tokens_completion: 100, tokens_cache_read: 400, tokens_total: 1000,
      cost_usd: 0.000123, cost_source: 'reported', user_id: 'u-1', session_id: 'sess-1',
    });
  });

  it('OpenInference TOOL, AGENT and EMBEDDING spans', () => {
    assertCanonical(normalizeOne({ 'openinference.span.kind': 'TOOL', 'tool.name': 'calculator', 'tool.parameters': '{"a":1}' }).span, { gen_ai_operation: 'execute_tool', tool_name: 'calculator' });
    assertCanonical(normalizeOne({ 'openinference.span.kind': 'AGENT', 'agent.name': 'triage' }).span, { gen_ai_operation: 'invoke_agent', agent_name: 'triage' });
    assertCanonical(normalizeOne({ 'openinference.span.kind': 'EMBEDDING', 'embedding.model_name': 'text-embedding-3-small', 'llm.model_name': 'text-embedding-3-small', 'llm.token_count.prompt': 500, 'llm.token_count.total': 500 }).span, {
      gen_ai_operation: 'embeddings', model: 'text-embedding-3-small', request_model: 'text-embedding-3-small', tokens_prompt: 500, tokens_total: 500, cost_usd: usd(500, 0.02), cost_source: 'computed',
    });
  });

  it('OpenLLMetry / Traceloop LLM span: gen_ai.system, prompt_tokens, cache_read_input_tokens, association properties', () => {
    const { span } = normalizeOne({
      'gen_ai.system': 'OpenAI',
      'llm.request.type': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.prompt_tokens': 1500,
      'gen_ai.usage.completion_tokens': 300,
      'gen_ai.usage.cache_read_input_tokens': 500,
      'llm.usage.total_tokens': 1800,
      'traceloop.workflow.name': 'support_flow',
      'traceloop.association.properties.user_id': 'u-77',
      'traceloop.association.properties.session_id': 's-77',
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': 'Hello',
    });
    assertCanonical(span, {
      gen_ai_operation: 'chat', provider: 'openai', model: 'gpt-4o-2024-08-06', request_model: 'gpt-4o',
      tokens_prompt: 1500, tokens_completion: 300, tokens_cache_read: 500, tokens_total: 1800,
      cost_usd: usd(1000, 2.5) + usd(500, 1.25) + usd(300, 10), cost_source: 'computed', user_id: 'u-77', session_id: 's-77', workflow_id: 'support_flow',
    });
  });

  it('OpenLLMetry / Traceloop tool and agent entities', () => {
    assertCanonical(normalizeOne({ 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'lookup_order', 'traceloop.workflow.name': 'support_flow' }).span, { gen_ai_operation: 'execute_tool', tool_name: 'lookup_order', workflow_id: 'support_flow' });
    assertCanonical(normalizeOne({ 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'support_agent' }).span, { gen_ai_operation: 'invoke_agent', agent_name: 'support_agent' });
  });

  it('Vercel AI SDK v4 doGenerate span: promptTokens/completionTokens, provider "openai.chat" -> openai, telemetry metadata', () => {
    const { span } = normalizeOne({
      'ai.operationId': 'ai.generateText.doGenerate',
      'operation.name': 'ai.generateText.doGenerate support-bot',
      'ai.model.provider': 'openai.chat',
      'ai.model.id': 'gpt-4o-mini',
      'ai.response.model': 'gpt-4o-mini-2024-07-18',
      'ai.usage.promptTokens': 2000,
      'ai.usage.completionTokens': 150,
      'ai.telemetry.functionId': 'support-bot',
      'ai.telemetry.metadata.userId': 'u-5',
      'ai.telemetry.metadata.sessionId': 's-5',
      'gen_ai.system': 'openai.chat',
      'gen_ai.request.model': 'gpt-4o-mini',
    });
    assertCanonical(span, {
      gen_ai_operation: 'chat', agent_name: 'support-bot', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', request_model: 'gpt-4o-mini',
      tokens_prompt: 2000, tokens_completion: 150, tokens_total: 2150, cost_usd: usd(2000, 0.15) + usd(150, 0.6), cost_source: 'computed', user_id: 'u-5', session_id: 's-5',
    });
  });

  it('Vercel AI SDK model calls without ai.operationId: recognised by the span name, or by ai.model.id with ai.usage.*', () => {
    const usage = { 'ai.model.provider': 'anthropic.messages', 'ai.model.id': 'claude-3-5-sonnet-20241022', 'ai.usage.promptTokens': 1000, 'ai.usage.completionTokens': 100 };
    const model = 'claude-3-5-sonnet-20241022';
    const want = { gen_ai_operation: 'chat', provider: 'anthropic', model, request_model: model, tokens_prompt: 1000, tokens_completion: 100, tokens_total: 1100, cost_usd: usd(1000, 3) + usd(100, 15), cost_source: 'computed' as const };
    assertCanonical(normalizeOne(usage, { name: 'ai.generateText.doGenerate' }).span, want);
    assertCanonical(normalizeOne(usage).span, want);
    // The outer span, named after its operation, repeats the usage of its children: not a model call.
    assertCanonical(normalizeOne(usage, { name: 'ai.generateText' }).span, { gen_ai_operation: 'invoke_workflow', provider: 'anthropic', model, request_model: model });
  });

  it('Vercel AI SDK v5 doStream span: inputTokens exclude cached tokens, so they are added back', () => {
    const { span } = normalizeOne({
      'ai.operationId': 'ai.streamText.doStream',
      'ai.model.provider': 'anthropic.messages',
      'ai.model.id': 'claude-3-5-haiku-20241022',
      'ai.usage.inputTokens': 600,
      'ai.usage.cachedInputTokens': 400,
      'ai.usage.outputTokens': 90,
      'ai.usage.reasoningTokens': 10,
      'ai.usage.totalTokens': 690,
    });
    assertCanonical(span, {
      gen_ai_operation: 'chat', provider: 'anthropic', model: 'claude-3-5-haiku-20241022', request_model: 'claude-3-5-haiku-20241022',
      tokens_prompt: 1000, tokens_completion: 90, tokens_cache_read: 400, tokens_reasoning: 10, tokens_total: 1090,
      cost_usd: usd(600, 0.8) + usd(400, 0.08) + usd(80, 4) + usd(10, 4), cost_source: 'computed',
    });
  });

  it('Vercel AI SDK outer ai.generateText span repeats its children usage: zero tokens, no cost', () => {
    const { span } = normalizeOne({ 'ai.operationId': 'ai.generateText', 'ai.model.provider': 'openai.chat', 'ai.model.id': 'gpt-4o', 'ai.usage.promptTokens': 4000, 'ai.usage.completionTokens': 300, 'ai.telemetry.functionId': 'support-bot' });
    assertCanonical(span, { gen_ai_operation: 'invoke_workflow', agent_name: 'support-bot', provider: 'openai', model: 'gpt-4o', request_model: 'gpt-4o' });
  });

  it('Vercel AI SDK tool call span', () => {
    assertCanonical(normalizeOne({ 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'getWeather', 'ai.toolCall.id': 'call-1', 'ai.toolCall.args': '{"city":"Paris"}' }).span, { gen_ai_operation: 'execute_tool', tool_name: 'getWeather' });
  });

  it('the architecture brief plain names: model, tokens.prompt/completion, cost.usd, user_id, workflow_id, tool_name', () => {
    assertCanonical(normalizeOne({ model: 'gpt-4.1', 'tokens.prompt': 700, 'tokens.completion': 70, 'cost.usd': 0.002, user_id: 'u-9', workflow_id: 'wf-9' }).span, {
      gen_ai_operation: 'chat', model: 'gpt-4.1', request_model: 'gpt-4.1', tokens_prompt: 700, tokens_completion: 70, tokens_total: 770, cost_usd: 0.002, cost_source: 'reported', user_id: 'u-9', workflow_id: 'wf-9',
    });
    assertCanonical(normalizeOne({ tool_name: 'search_docs', workflow_id: 'wf-9' }).span, { gen_ai_operation: 'execute_tool', tool_name: 'search_docs', workflow_id: 'wf-9' });
  });

  it('an unknown model is unpriced, not silently free; garbage token counts are ignored', () => {
    assertCanonical(normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'acme', 'gen_ai.request.model': 'acme-llm-1', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': -5 }).span, {
      gen_ai_operation: 'chat', provider: 'acme', model: 'acme-llm-1', request_model: 'acme-llm-1', tokens_prompt: 10, tokens_total: 10, cost_source: 'unpriced',
    });
    assertCanonical(normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1e15, 'gen_ai.usage.output_tokens': 'many' }).span, {
      gen_ai_operation: 'chat', model: 'gpt-4o', request_model: 'gpt-4o', cost_source: 'computed',
    });
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
    const { span, events } = normalizeOne({ 'gen_ai.operation.name': 'chat', 'gen_ai.prompt.0.content': 'secret', 'llm.input_messages.0.message.content': 'secret', 'gen_ai.request.model': 'gpt-4o' }, {
      normalizer: capped(['private-co']),
      tenant: 'private-co',
      events: [{ name: 'gen_ai.user.message', timeUnixNano: START_NS.toString(), attributes: [attr('content', 'secret'), attr('role', 'user')] }],
    });
    assert.deepEqual(Object.keys(span.attributes), ['gen_ai.operation.name', 'gen_ai.request.model']);
    assert.equal(span.content_dropped, 1);
    assert.deepEqual(JSON.parse(events[0]!.payload_json), { role: 'user' });
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
        resources: { clickhouse: () => Promise.reject(new Error('unused')), kafka: () => { throw new Error('unused'); } },
      },
      { consumeRows: async (rows) => void stored.push(rows) },
    )) as TracesConsumer;
    for (const trace of generate(30, 5)) await processor.consumeTraces(trace, { tenant: undefined });
    const unpriced = stored.flatMap((r) => r.spans).filter((s) => s.cost_source === 'unpriced');
    assert.ok(unpriced.length > 0 && unpriced.every((s) => s.model === 'acme-unpriced-1'));
    assert.match(registry.render(), new RegExp(`tracehouse_unpriced_llm_calls_total\\{model="acme-unpriced-1"\\} ${unpriced.length}\\n`));
  });
});
