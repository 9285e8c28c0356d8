// Deterministic agent traces built directly as OTLP model objects: 10 spans per trace (an agent
// root, LLM calls with tokens across providers, one of them unpriced, and tool calls), ~10% errors,
// spread over the last 10 minutes; and log records correlated with them. For tests that need
// thousands of spans or records without an SDK.
import type { KeyValue, LogRecord, LogsData, Span, TracesData } from '../../services/otlp/model.js';
import { emptyLogRecord, emptySpan } from '../../services/otlp/model.js';
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

/** Log records per message of generateLogs: six log lines and two GenAI events. */
export const LOG_LINES_PER_MESSAGE = 6;
export const GENAI_EVENTS_PER_MESSAGE = 2;

/**
 * `messages` logs requests (as the Collector's kafka exporter writes one message each), correlated
 * with the traces generate() makes: six log lines of mixed severity with a unique body each, and a
 * gen_ai.user.message and a gen_ai.client.inference.operation.details event of one LLM call.
 */
export function generateLogs(messages: number, seed: number): LogsData[] {
  const random = seededRandom(seed);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const out: LogsData[] = [];
  for (let m = 0; m < messages; m++) {
    const traceId = hex(m + 1, 32);
    const spanId = hex(m * 16 + 2, 16);
    const time = nowNs - BigInt(Math.floor(random() * 600_000)) * 1_000_000n;
    const records: LogRecord[] = [];
    for (let i = 0; i < LOG_LINES_PER_MESSAGE; i++) {
      const r = emptyLogRecord();
      r.timeUnixNano = time + BigInt(i) * 1_000_000n;
      r.observedTimeUnixNano = r.timeUnixNano;
      r.severityNumber = [9, 9, 13, 17, 5, 9][i]!;
      r.severityText = ['INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG', 'INFO'][i]!;
      r.body = { stringValue: `log line ${m}-${i}` };
      r.attributes = [kv('line', i)];
      if (i % 2 === 0) [r.traceId, r.spanId] = [traceId, spanId];
      records.push(r);
    }
    const message = emptyLogRecord();
    Object.assign(message, { timeUnixNano: time, eventName: 'gen_ai.user.message', traceId, spanId, body: { kvlistValue: [kv('role', 'user'), kv('content', `question ${m}`)] } });
    const details = emptyLogRecord();
    Object.assign(details, { timeUnixNano: time, eventName: 'gen_ai.client.inference.operation.details', traceId, spanId, attributes: [kv('gen_ai.request.model', 'gpt-4o'), kv('gen_ai.usage.input_tokens', 100), kv('gen_ai.usage.output_tokens', 10)] });
    records.push(message, details);
    out.push({ resourceLogs: [{ resource: { attributes: [kv('service.name', m % 2 === 0 ? 'planner' : 'executor'), kv('tenant.id', `tenant-${m % 3}`)], droppedAttributesCount: 0 }, schemaUrl: '', scopeLogs: [{ scope: { name: 'generated', version: '1', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', logRecords: records }] }] });
  }
  return out;
}
