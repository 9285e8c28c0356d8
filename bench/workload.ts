// Pre-built OTLP requests of realistic agent traffic (services/ops/agent-traffic.ts), so the load
// generator is not the bottleneck: spans come from the real SDK, serialized by the reference serializers.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AgentTraffic } from '../services/ops/agent-traffic.js';
import { emptyScope, emptySpan } from '../services/otlp/model.js';
import { encodeTracesProtobuf } from '../services/otlp/protobuf.js';

export type Encoding = 'protobuf' | 'json';

export interface PrebuiltRequest {
  body: Uint8Array;
  spans: number;
}

/** Agent runs from the shared traffic model until at least `spanTarget` spans. */
export function agentSpans(spanTarget: number, tenant: string, seed = 7): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-agent', 'service.version': '2.3.1', 'tenant.id': tenant, 'deployment.environment': 'bench', 'host.name': 'bench-host-1' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('bench-agent-sdk', '1.0.0');
  const traffic = new AgentTraffic(seed);
  const now = Date.now();
  for (let produced = 0; produced < spanTarget; ) produced += traffic.emitRun(tracer, now);
  return memory.getFinishedSpans();
}

export function prebuildRequests(opts: { count: number; spansPerRequest: number; encoding: Encoding; gzip: boolean; tenant?: string }): PrebuiltRequest[] {
  const serializer = opts.encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer;
  const out: PrebuiltRequest[] = [];
  for (let i = 0; i < opts.count; i++) {
    const spans = agentSpans(opts.spansPerRequest, opts.tenant ?? `tenant-${i % 5}`, i + 1);
    const raw = serializer.serializeRequest(spans)!;
    out.push({ body: opts.gzip ? gzipSync(raw) : raw, spans: spans.length });
  }
  return out;
}

/** A one-span request with a fresh trace id and start time now: sent during the load to measure ingest freshness. */
export function probeRequest(tenant: string): { traceId: string; body: Uint8Array; sentAtMs: number } {
  const traceId = randomBytes(16).toString('hex');
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const span = { ...emptySpan(), traceId, spanId: randomBytes(8).toString('hex'), name: 'freshness-probe', kind: 1, startTimeUnixNano: nowNs, endTimeUnixNano: nowNs + 1000n };
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'bench-probe' } }, { key: 'tenant.id', value: { stringValue: tenant } }], droppedAttributesCount: 0 };
  const body = encodeTracesProtobuf({ resourceSpans: [{ resource, schemaUrl: '', scopeSpans: [{ scope: emptyScope(), schemaUrl: '', spans: [span] }] }] });
  return { traceId, body, sentAtMs: Date.now() };
}
