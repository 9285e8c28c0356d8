// Real OpenTelemetry SDK clients that emit agent-shaped traces (agent run -> LLM calls -> tool
// calls, one failing tool), exporting through the real OTLP/HTTP and OTLP/gRPC exporters, and an in-memory copy
// of every span so tests know exactly what must arrive.
import { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** OTLP/HTTP protobuf or JSON, or OTLP/gRPC (whose endpoint is host:port, no path). */
export type SdkProtocol = 'protobuf' | 'json' | 'grpc';

export interface SdkClient {
  tracer: Tracer;
  /** Every span the SDK ended, as it ended it. */
  finished(): ReadableSpan[];
  /** Result of every OTLP export call made so far. */
  exportResults: ExportResult[];
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function sdkClient(opts: {
  endpoint: string;
  protocol: SdkProtocol;
  gzip: boolean;
  resource: Record<string, string>;
  timeoutMillis?: number;
  headers?: Record<string, string>;
}): SdkClient {
  const config = {
    url: `${opts.endpoint}/v1/traces`,
    compression: opts.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    timeoutMillis: opts.timeoutMillis ?? 10_000,
    headers: opts.headers ?? {},
  };
  const otlp: SpanExporter =
    opts.protocol === 'grpc'
      ? new OtlpGrpcExporter({ ...config, url: opts.endpoint, metadata: grpcMetadata(opts.headers ?? {}) })
      : opts.protocol === 'protobuf'
        ? new OtlpProtoExporter(config)
        : new OtlpHttpJsonExporter(config);
  const exportResults: ExportResult[] = [];
  const recording: SpanExporter = {
    export: (spans, done) =>
      otlp.export(spans, (result) => {
        exportResults.push(result);
        done(result);
      }),
    shutdown: () => otlp.shutdown(),
    forceFlush: () => otlp.forceFlush?.() ?? Promise.resolve(),
  };
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(opts.resource),
    spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(recording, { scheduledDelayMillis: 50, maxExportBatchSize: 256 })],
  });
  return {
    tracer: provider.getTracer('tracehouse-test-agent', '1.0.0'),
    finished: () => memory.getFinishedSpans(),
    exportResults,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function grpcMetadata(headers: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return metadata;
}

export function allExportsSucceeded(client: SdkClient): boolean {
  return client.exportResults.length > 0 && client.exportResults.every((r) => r.code === ExportResultCode.SUCCESS);
}

/** `runs` agent runs exported through a real exporter (OTLP/HTTP protobuf unless told), flushed; false unless every export succeeded. */
export async function exportAgentRuns(endpoint: string, runs: number, resource: Record<string, string>, opts: { gzip?: boolean; protocol?: SdkProtocol } = {}): Promise<boolean> {
  const client = sdkClient({ endpoint, protocol: opts.protocol ?? 'protobuf', gzip: opts.gzip ?? false, resource });
  for (let i = 0; i < runs; i++) emitAgentRun(client.tracer, i);
  await client.flush();
  await client.shutdown();
  return allExportsSucceeded(client);
}

/**
 * One agent run: invoke_agent -> chat (tool call requested) -> execute_tool web_search (fails) ->
 * execute_tool calculator -> chat (final answer). Returns the trace id.
 */
export function emitAgentRun(tracer: Tracer, run: number): string {
  const root = tracer.startSpan('invoke_agent research_assistant', {
    kind: SpanKind.SERVER,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'research_assistant', workflow_id: `wf-${run}`, user_id: 'user-7' },
  });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const chat1 = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.usage.input_tokens': 1200 + run,
        'gen_ai.usage.output_tokens': 85,
        'gen_ai.request.temperature': 0.2,
        'gen_ai.response.finish_reasons': ['tool_calls'],
        'gen_ai.request.stream': false,
      },
    },
    ctx,
  );
  chat1.addEvent('gen_ai.choice', { 'gen_ai.choice.index': 0 });
  chat1.end();
  const search = tracer.startSpan('execute_tool web_search', { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'gen_ai.tool.call.id': `call-${run}-1` } }, ctx);
  search.recordException(new Error('search backend timed out after 3000 ms'));
  search.setStatus({ code: SpanStatusCode.ERROR, message: 'search backend timed out' });
  search.end();
  const calc = tracer.startSpan('execute_tool calculator', { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'calculator' } }, ctx);
  calc.end();
  const chat2 = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1700,
        'gen_ai.usage.output_tokens': 420,
        'gen_ai.usage.cache_read.input_tokens': 1024,
      },
    },
    ctx,
  );
  chat2.setStatus({ code: SpanStatusCode.OK });
  chat2.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  return root.spanContext().traceId;
}

/** How the pipeline must store an SDK attribute value: independent of the code under test. */
export function expectedAttributeText(v: unknown): string {
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}

export function hrTimeToNanos(t: [number, number]): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

/** The spans_raw row a ReadableSpan must become (columns compared by the e2e tests). */
export function expectedRow(span: ReadableSpan): Record<string, unknown> {
  return {
    trace_id: span.spanContext().traceId,
    span_id: span.spanContext().spanId,
    parent_span_id: span.parentSpanContext?.spanId ?? '',
    operation: span.name,
    span_kind: KIND_NAMES[span.kind],
    status_code: STATUS_NAMES[span.status.code],
    status_message: span.status.message ?? '',
    start_ns: hrTimeToNanos(span.startTime),
    end_ns: hrTimeToNanos(span.endTime),
    attributes: Object.fromEntries(Object.entries(span.attributes).map(([k, v]) => [k, expectedAttributeText(v)])),
    events_count: span.events.length,
    scope_name: span.instrumentationScope.name,
  };
}

/** The query whose rows compare to expectedRow(); binds {trace_ids: Array(String)}. */
export function storedRowsSql(database: string): string {
  return `SELECT trace_id, span_id, parent_span_id, operation, span_kind, status_code, status_message,
      toString(toUnixTimestamp64Nano(start_ts)) AS start_ns, toString(toUnixTimestamp64Nano(end_ts)) AS end_ns,
      attributes, events_count, scope_name, tenant_id, env, service_name, duration_ms, resource_attributes
    FROM ${database}.spans_raw WHERE has({trace_ids: Array(String)}, trace_id) ORDER BY start_ts, span_id`;
}
