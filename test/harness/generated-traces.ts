// Deterministic agent traces built directly as OTLP model objects: 10 spans per trace (an agent
// root, LLM calls with tokens across providers, one of them unpriced, and tool calls), ~10% errors,
// spread over the last 10 minutes. For tests that need thousands of spans without an SDK.
import type { KeyValue, Span, TracesData } from '../../services/otlp/model.js';
import { emptySpan } from '../../services/otlp/model.js';
import { seededRandom } from '../../services/shared/random.js';

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */

export const kv = (key: string, v: string | number): KeyValue => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } });
export const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

const MODELS = [['openai', 'gpt-4o'], ['anthropic', 'claude-sonnet-4'], ['google', 'gemini-2.5-flash'], ['acme', 'acme-unpriced-1']] as const;
const TOOLS = ['web_search', 'calculator', 'sql_query'];

/** `traces` agent traces of 10 spans each, spread over the last 10 minutes. */
export function generate(traces: number, seed: number, firstTrace = 0): TracesData[] {
  const random = seededRandom(seed);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const out: TracesData[] = [];
  for (let t = firstTrace; t < firstTrace + traces; t++) {
    const tenant = `tenant-${t % 3}`;
    const service = t % 2 === 0 ? 'planner' : 'executor';
    const traceId = hex(t + 1, 32);
    const start = nowNs - BigInt(Math.floor(random() * 600_000)) * 1_000_000n;
    const spans: Span[] = [];
    for (let i = 0; i < 10; i++) {
      const s = emptySpan();
      s.traceId = traceId;
      s.spanId = hex(t * 16 + i + 1, 16);
      s.parentSpanId = i === 0 ? '' : hex(t * 16 + 1, 16);
      s.startTimeUnixNano = start + BigInt(i) * 1_000_000n;
      s.endTimeUnixNano = s.startTimeUnixNano + BigInt(Math.floor(1 + random() * 8000)) * 1_000_000n + BigInt(Math.floor(random() * 999_999));
      s.status = { code: random() < 0.1 ? 2 : 1, message: '' };
      if (i === 0) {
        s.name = 'invoke_agent helper';
        s.attributes = [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', t % 4 === 0 ? 'planner_agent' : 'helper'), kv('workflow_id', `wf-${t % 7}`)];
      } else if (i % 2 === 1) {
        const [provider, model] = MODELS[Math.floor(random() * MODELS.length)]!;
        s.name = `chat ${model}`;
        s.events = [{ timeUnixNano: s.startTimeUnixNano, name: 'gen_ai.choice', attributes: [kv('gen_ai.choice.index', 0)], droppedAttributesCount: 0 }];
        s.attributes = [
          kv('gen_ai.operation.name', 'chat'), kv('gen_ai.provider.name', provider), kv('gen_ai.request.model', model),
          kv('gen_ai.usage.input_tokens', Math.floor(random() * 5000)), kv('gen_ai.usage.output_tokens', Math.floor(random() * 800)),
          kv('gen_ai.usage.cache_read.input_tokens', Math.floor(random() * 100)),
        ];
      } else {
        const tool = TOOLS[Math.floor(random() * TOOLS.length)]!;
        s.name = `execute_tool ${tool}`;
        s.attributes = [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', tool)];
      }
      spans.push(s);
    }
    out.push({
      resourceSpans: [{ resource: { attributes: [kv('service.name', service), kv('tenant.id', tenant), kv('deployment.environment', 'prod')], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: 'gen', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }],
    });
  }
  return out;
}
