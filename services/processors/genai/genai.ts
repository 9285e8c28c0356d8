// GenAI conventions -> canonical spans_raw columns. Covers OTel GenAI (current and deprecated names),
// OpenInference, OpenLLMetry/Traceloop, the Vercel AI SDK (v4 and v5 usage names) and the plain names
// of the architecture brief (model, tokens.prompt, tokens.completion, cost.usd, user_id, workflow_id,
// tool_name). test/unit/genai-normalizer.test.ts holds one case per dialect.
//
// Token semantics of the canonical columns (so nothing is counted twice):
//   tokens_prompt      all input tokens, cached ones included (the OTel definition);
//   tokens_cache_read  / tokens_cache_write: the part of tokens_prompt read from / written to a cache;
//   tokens_completion  all output tokens, reasoning included; tokens_reasoning is the part spent reasoning;
//   tokens_total       tokens_prompt + tokens_completion (the reported total only when neither is known).
// Conventions whose input count excludes cached tokens (Vercel AI SDK v5) get them added back.

/** Bumped whenever a mapping below changes meaning; stored on every row. */
export const NORMALIZER_VERSION = 1;

export interface GenAiFields {
  gen_ai_operation: string;
  agent_name: string;
  provider: string;
  model: string;
  request_model: string;
  tool_name: string;
  tokens_prompt: number;
  tokens_completion: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  tokens_reasoning: number;
  tokens_total: number;
  /** Cost reported by the instrumentation, or null when none was. */
  reported_cost_usd: number | null;
  user_id: string;
  session_id: string;
  workflow_id: string;
  error_type: string;
}

/** Operations that are one call to a model: these rows feed the LLM rollup and get a cost. */
export const LLM_OPERATIONS: ReadonlySet<string> = new Set(['chat', 'text_completion', 'generate_content', 'embeddings', 'rerank']);

type Attrs = Record<string, string>;

function first(a: Attrs, keys: readonly string[]): string {
  for (const k of keys) {
    const v = a[k];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** Largest sane token count for one span; anything above is treated as garbage. */
const MAX_TOKENS = 1e12;

function count(a: Attrs, keys: readonly string[]): number | null {
  for (const k of keys) {
    const raw = a[k];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= MAX_TOKENS) return Math.floor(n);
  }
  return null;
}

// Attribute names per canonical column, most specific convention first.
const PROVIDER_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider', 'provider'];
const CACHE_READ_KEYS = ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'llm.token_count.prompt_details.cache_read', 'ai.usage.cachedInputTokens'];
const CACHE_WRITE_KEYS = ['gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens', 'llm.token_count.prompt_details.cache_write'];
const PROMPT_KEYS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'ai.usage.promptTokens', 'tokens.prompt'];
const VERCEL_INPUT_KEYS = ['ai.usage.inputTokens'];
const COMPLETION_KEYS = ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'ai.usage.completionTokens', 'ai.usage.outputTokens', 'tokens.completion'];
const REASONING_KEYS = ['gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens', 'llm.token_count.completion_details.reasoning', 'ai.usage.reasoningTokens'];
const TOTAL_KEYS = ['llm.token_count.total', 'llm.usage.total_tokens', 'ai.usage.totalTokens', 'gen_ai.usage.total_tokens', 'tokens.total'];
const COST_KEYS = ['llm.cost.total', 'gen_ai.usage.cost', 'cost.usd', 'gen_ai.cost.usd'];
const REQUEST_MODEL_KEYS = ['gen_ai.request.model', 'llm.request.model_name', 'llm.model_name', 'ai.model.id', 'model'];
const RESPONSE_MODEL_KEYS = ['gen_ai.response.model', 'llm.response.model_name', 'ai.response.model'];
const AGENT_NAME_KEYS = ['gen_ai.agent.name', 'agent.name'];
const VERCEL_FUNCTION_KEYS = ['ai.telemetry.functionId'];
const TOOL_NAME_KEYS = ['gen_ai.tool.name', 'tool.name', 'ai.toolCall.name', 'tool_name'];
const USER_ID_KEYS = ['user_id', 'user.id', 'enduser.id', 'traceloop.association.properties.user_id', 'ai.telemetry.metadata.userId'];
const SESSION_ID_KEYS = ['gen_ai.conversation.id', 'session.id', 'session_id', 'traceloop.association.properties.session_id', 'ai.telemetry.metadata.sessionId'];
const WORKFLOW_ID_KEYS = ['workflow_id', 'workflow.id', 'traceloop.workflow.name', 'ai.telemetry.metadata.workflowId'];
const ERROR_TYPE_KEYS = ['error.type'];

const OPENINFERENCE_KINDS: Record<string, string> = {
  LLM: 'chat',
  EMBEDDING: 'embeddings',
  TOOL: 'execute_tool',
  AGENT: 'invoke_agent',
  CHAIN: 'invoke_workflow',
  RETRIEVER: 'retrieval',
  RERANKER: 'rerank',
  GUARDRAIL: 'guardrail',
  EVALUATOR: 'evaluate',
  PROMPT: 'prompt',
};

const TRACELOOP_REQUEST_TYPES: Record<string, string> = { chat: 'chat', completion: 'text_completion', embedding: 'embeddings', rerank: 'rerank' };
const TRACELOOP_SPAN_KINDS: Record<string, string> = { workflow: 'invoke_workflow', task: 'task', agent: 'invoke_agent', tool: 'execute_tool' };

/**
 * Vercel AI SDK operation ids. The outer ai.generateText / ai.streamText spans carry the usage summed
 * over their inner doGenerate/doStream calls, so only the inner ones count as model calls.
 */
function vercelOperation(operationId: string): string {
  if (operationId.endsWith('.doGenerate') || operationId.endsWith('.doStream')) return 'chat';
  if (operationId === 'ai.toolCall') return 'execute_tool';
  if (operationId.startsWith('ai.embed')) return operationId.endsWith('.doEmbed') ? 'embeddings' : 'invoke_workflow';
  return 'invoke_workflow';
}

/** The Vercel AI SDK's operation id: its attribute, or the span name it also uses (ai.generateText.doGenerate). */
function vercelOperationId(a: Attrs, spanName: string): string | undefined {
  return a['ai.operationId'] ?? (/^ai\.[A-Za-z]+(\.[A-Za-z]+)?$/.test(spanName) ? spanName : undefined);
}

function operationOf(a: Attrs, spanName: string): string {
  const otel = a['gen_ai.operation.name'];
  if (otel) return otel;
  const oiKind = a['openinference.span.kind'];
  if (oiKind) return OPENINFERENCE_KINDS[oiKind.toUpperCase()] ?? oiKind.toLowerCase();
  const tlType = a['llm.request.type'];
  if (tlType) return TRACELOOP_REQUEST_TYPES[tlType] ?? tlType;
  const tlKind = a['traceloop.span.kind'];
  if (tlKind) return TRACELOOP_SPAN_KINDS[tlKind] ?? tlKind;
  const vercel = vercelOperationId(a, spanName);
  if (vercel) return vercelOperation(vercel);
  if (a.tool_name) return 'execute_tool';
  if (a.model || a['tokens.prompt'] || a['tokens.completion']) return 'chat';
  // A Vercel AI SDK model call whose exporter kept neither the operation id nor the span name.
  if (a['ai.model.id'] && Object.keys(a).some((k) => k.startsWith('ai.usage.'))) return 'chat';
  return '';
}

/** Provider ids as the conventions name them; Vercel's "openai.chat" style keeps its first part. */
function providerOf(a: Attrs): string {
  const p = first(a, PROVIDER_KEYS);
  const lower = p.toLowerCase();
  return a['ai.model.provider'] === p && lower.includes('.') ? lower.slice(0, lower.indexOf('.')) : lower;
}

function entityName(a: Attrs, kind: string): string {
  return a['traceloop.span.kind'] === kind ? (a['traceloop.entity.name'] ?? '') : '';
}

export function genAiFields(a: Attrs, statusCode: number, exceptionType: string, spanName = ''): GenAiFields {
  const operation = operationOf(a, spanName);
  const vercelOuter = vercelOperationId(a, spanName) !== undefined && operation === 'invoke_workflow';

  const cacheRead = count(a, CACHE_READ_KEYS);
  const cacheWrite = count(a, CACHE_WRITE_KEYS);
  let prompt = count(a, PROMPT_KEYS);
  // Vercel AI SDK v5 reports input tokens without the cached ones.
  const vercelInput = count(a, VERCEL_INPUT_KEYS);
  if (prompt === null && vercelInput !== null) prompt = vercelInput + (cacheRead ?? 0);
  const completion = count(a, COMPLETION_KEYS);
  const reasoning = count(a, REASONING_KEYS);
  const reportedTotal = count(a, TOTAL_KEYS);
  const total = prompt !== null || completion !== null ? (prompt ?? 0) + (completion ?? 0) : (reportedTotal ?? 0);

  const costRaw = first(a, COST_KEYS);
  const cost = costRaw === '' ? NaN : Number(costRaw);

  const requestModel = first(a, REQUEST_MODEL_KEYS);
  const responseModel = first(a, RESPONSE_MODEL_KEYS);

  return {
    gen_ai_operation: operation,
    agent_name: first(a, AGENT_NAME_KEYS) || entityName(a, 'agent') || first(a, VERCEL_FUNCTION_KEYS),
    provider: providerOf(a),
    model: responseModel || requestModel,
    request_model: requestModel,
    tool_name: first(a, TOOL_NAME_KEYS) || entityName(a, 'tool'),
    // Outer Vercel spans repeat their children's usage; counting it again would double the tokens.
    tokens_prompt: vercelOuter ? 0 : (prompt ?? 0),
    tokens_completion: vercelOuter ? 0 : (completion ?? 0),
    tokens_cache_read: vercelOuter ? 0 : (cacheRead ?? 0),
    tokens_cache_write: vercelOuter ? 0 : (cacheWrite ?? 0),
    tokens_reasoning: vercelOuter ? 0 : (reasoning ?? 0),
    tokens_total: vercelOuter ? 0 : total,
    reported_cost_usd: !vercelOuter && Number.isFinite(cost) && cost >= 0 ? cost : null,
    user_id: first(a, USER_ID_KEYS),
    session_id: first(a, SESSION_ID_KEYS),
    workflow_id: first(a, WORKFLOW_ID_KEYS),
    error_type: first(a, ERROR_TYPE_KEYS) || exceptionType || (statusCode === 2 ? '_OTHER' : ''),
  };
}
