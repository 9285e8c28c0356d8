// Pre-built OTLP requests of realistic agent traffic, so the load generator is not the bottleneck:
// spans come from the real SDK and are serialized by the reference serializers.
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export type Encoding = 'protobuf' | 'json';

export interface PrebuiltRequest {
  body: Uint8Array;
  spans: number;
}

const MODELS = [
  ['openai', 'gpt-4o'],
  ['anthropic', 'claude-sonnet-4'],
  ['google', 'gemini-2.5-pro'],
] as const;
const TOOLS = ['web_search', 'calculator', 'sql_query', 'file_read'];

/** About 10 spans per agent run (run -> 3-4 LLM calls -> tool calls), with gen_ai attributes and events. */
export function agentSpans(spanTarget: number, tenant: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-agent', 'service.version': '2.3.1', 'tenant.id': tenant, 'deployment.environment': 'bench', 'host.name': 'bench-host-1' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('bench-agent-sdk', '1.0.0');
  let produced = 0;
  for (let run = 0; produced < spanTarget; run++) {
    const root = tracer.startSpan('invoke_agent support_bot', { kind: SpanKind.SERVER, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support_bot', workflow_id: `wf-${run % 50}`, user_id: `user-${run % 997}`, 'session.id': `sess-${run}` } });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    produced++;
    for (let step = 0; step < 3 && produced < spanTarget; step++) {
      const [provider_, model] = MODELS[(run + step) % MODELS.length]!;
      const llm = tracer.startSpan(`chat ${model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': provider_,
          'gen_ai.request.model': model,
          'gen_ai.response.model': `${model}-2025-01-01`,
          'gen_ai.usage.input_tokens': 800 + ((run * 37 + step * 11) % 4000),
          'gen_ai.usage.output_tokens': 50 + ((run * 13) % 900),
          'gen_ai.usage.cache_read.input_tokens': (run % 3) * 256,
          'gen_ai.request.temperature': 0.3,
          'gen_ai.request.max_tokens': 2048,
          'gen_ai.response.finish_reasons': ['stop'],
          'gen_ai.response.id': `resp-${run}-${step}`,
          'server.address': `api.${provider_}.example`,
        },
      }, ctx);
      llm.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'Summarise the customer ticket and propose a reply.' });
      llm.addEvent('gen_ai.content.completion', { 'gen_ai.completion': 'The customer reports a billing discrepancy; refund the duplicate charge.' });
      llm.end();
      produced++;
      if (produced < spanTarget) {
        const tool = tracer.startSpan(`execute_tool ${TOOLS[(run + step) % TOOLS.length]}`, { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': TOOLS[(run + step) % TOOLS.length]!, 'gen_ai.tool.call.id': `call-${run}-${step}` } }, ctx);
        if ((run + step) % 17 === 0) tool.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
        tool.end();
        produced++;
      }
    }
    root.end();
  }
  return memory.getFinishedSpans();
}

export function prebuildRequests(opts: { count: number; spansPerRequest: number; encoding: Encoding; gzip: boolean; tenant?: string }): PrebuiltRequest[] {
  const serializer = opts.encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer;
  const out: PrebuiltRequest[] = [];
  for (let i = 0; i < opts.count; i++) {
    const spans = agentSpans(opts.spansPerRequest, opts.tenant ?? `tenant-${i % 5}`);
    const raw = serializer.serializeRequest(spans)!;
    out.push({ body: opts.gzip ? gzipSync(raw) : raw, spans: spans.length });
  }
  return out;
}
