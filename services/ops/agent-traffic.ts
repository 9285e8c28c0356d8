// Realistic agent traffic on the real OpenTelemetry SDK: agent runs that call LLMs across
// providers and models (tokens, cache hits, reasoning), call tools, hit rate limits and retry,
// fail sometimes, and now and then take far longer than usual. Used by `tracehouse demo` (live
// OTLP export) and by the benchmark (pre-built requests). Timestamps are explicit, so a run that
// "took" 20 s is generated instantly and ends at the moment it is emitted.
import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { seededRandom } from '../shared/random.js';

interface ModelChoice {
  provider: string;
  model: string;
  weight: number;
  reasoning?: boolean;
}

const MODELS: ModelChoice[] = [
  { provider: 'openai', model: 'gpt-4o', weight: 30 },
  { provider: 'openai', model: 'gpt-4o-mini', weight: 25 },
  { provider: 'openai', model: 'o3', weight: 5, reasoning: true },
  { provider: 'anthropic', model: 'claude-sonnet-4-20250514', weight: 20 },
  { provider: 'google', model: 'gemini-2.5-flash', weight: 15 },
  // Not in the price table: shows up as unpriced.
  { provider: 'ollama', model: 'llama-3.1-8b-local', weight: 5 },
];
const AGENTS = ['support_bot', 'research_assistant', 'sql_analyst', 'triage_agent'];
const TOOLS = ['web_search', 'sql_query', 'crm_lookup', 'calculator', 'send_email'];

export class AgentTraffic {
  private readonly random: () => number;

  constructor(seed = Date.now()) {
    this.random = seededRandom(seed);
  }

  private between(min: number, max: number): number {
    return Math.floor(min + this.random() * (max - min));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private model(): ModelChoice {
    let r = this.random() * MODELS.reduce((n, m) => n + m.weight, 0);
    for (const m of MODELS) if ((r -= m.weight) < 0) return m;
    return MODELS[0]!;
  }

  /** Emits one agent run ending at `endMs` through `tracer`; returns the number of spans. */
  emitRun(tracer: Tracer, endMs: number): number {
    // Lay the steps out first (durations), then emit with timestamps counted back from endMs.
    const steps: Array<{ kind: 'llm' | 'tool' | 'retry'; ms: number }> = [];
    const turns = this.between(2, 5);
    for (let i = 0; i < turns; i++) {
      if (this.random() < 0.04) steps.push({ kind: 'retry', ms: this.between(80, 400) });
      steps.push({ kind: 'llm', ms: this.random() < 0.02 ? this.between(10_000, 25_000) : this.between(300, 4000) });
      if (i < turns - 1 && this.random() < 0.7) steps.push({ kind: 'tool', ms: this.between(40, 1500) });
    }
    const total = steps.reduce((n, s) => n + s.ms + 5, 10);
    const agent = this.pick(AGENTS);
    let at = endMs - total;
    const root = tracer.startSpan(`invoke_agent ${agent}`, {
      kind: SpanKind.SERVER,
      startTime: at,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent, workflow_id: `${agent}-flow`, user_id: `user-${this.between(1, 400)}`, 'gen_ai.conversation.id': `conv-${this.between(1, 5000)}` },
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    at += 5;
    let spans = 1;
    let failed = false;
    for (const step of steps) {
      const end = at + step.ms;
      if (step.kind === 'tool') failed = this.tool(tracer, ctx, at, end) || failed;
      else this.llm(tracer, ctx, at, end, step.kind === 'retry');
      spans++;
      at = end + 5;
    }
    if (failed && this.random() < 0.3) root.setStatus({ code: SpanStatusCode.ERROR, message: 'agent gave up after a tool failure' });
    else root.setStatus({ code: SpanStatusCode.OK });
    root.end(endMs);
    return spans;
  }

  private llm(tracer: Tracer, ctx: Context, start: number, end: number, rateLimited: boolean): void {
    const m = this.model();
    const input = this.between(400, 8000);
    const cached = this.random() < 0.4 ? Math.floor(input * this.random() * 0.8) : 0;
    const output = rateLimited ? 0 : this.between(40, 1500);
    const span: Span = tracer.startSpan(
      `chat ${m.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': m.provider,
          'gen_ai.request.model': m.model,
          'gen_ai.response.model': m.model,
          'gen_ai.request.temperature': 0.2,
          'gen_ai.usage.input_tokens': rateLimited ? 0 : input,
          'gen_ai.usage.output_tokens': output,
          'gen_ai.usage.cache_read.input_tokens': rateLimited ? 0 : cached,
          ...(m.reasoning && !rateLimited ? { 'gen_ai.usage.reasoning.output_tokens': Math.floor(output * 0.6) } : {}),
        },
      },
      ctx,
    );
    span.addEvent('gen_ai.user.message', { 'gen_ai.provider.name': m.provider, content: 'Summarise the open tickets for this customer and propose next steps.' }, start);
    if (!rateLimited) span.addEvent('gen_ai.choice', { index: 0, finish_reason: 'stop', content: 'Two tickets are open: a billing dispute and a login issue. Next steps: refund the duplicate charge, reset MFA.' }, end);
    if (rateLimited) {
      span.setAttribute('error.type', 'rate_limit_exceeded');
      span.setAttribute('http.response.status_code', 429);
      span.setStatus({ code: SpanStatusCode.ERROR, message: '429 Too Many Requests; retrying' });
    }
    span.end(end);
  }

  /** Returns true when the tool call failed. */
  private tool(tracer: Tracer, ctx: Context, start: number, end: number): boolean {
    const tool = this.pick(TOOLS);
    const span = tracer.startSpan(`execute_tool ${tool}`, { kind: SpanKind.INTERNAL, startTime: start, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': `call-${this.between(1, 1e9)}` } }, ctx);
    const failed = this.random() < 0.05;
    if (failed) {
      span.recordException({ name: 'ToolError', message: `${tool} failed: upstream returned 502` }, end);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${tool} failed` });
    }
    span.end(end);
    return failed;
  }
}
