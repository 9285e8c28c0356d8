// `tracehouse demo`: multi-tenant agent traffic exported with the real OpenTelemetry SDK and its
// OTLP/HTTP protobuf exporter to any receiver, at a chosen rate of agent runs per second for a chosen
// duration, so every dashboard panel has something to show. Progress goes to stderr.
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AgentTraffic } from './agent-traffic.js';
import { Progress } from './progress.js';

export interface DemoOptions {
  endpoint: string;
  /** Agent runs per second. */
  rate: number;
  durationSeconds: number;
  tenants: string[];
  services: string[];
}

export interface DemoResult {
  runs: number;
  spans: number;
  failedExports: number;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const result: DemoResult = { runs: 0, spans: 0, failedExports: 0 };
  const providers: BasicTracerProvider[] = [];
  const tracers = opts.tenants.flatMap((tenant, t) =>
    opts.services.map((service, s) => {
      const otlp = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/$/, '')}/v1/traces`, timeoutMillis: 15_000 });
      const counting: SpanExporter = {
        export: (spans, done) =>
          otlp.export(spans, (r) => {
            if (r.code !== ExportResultCode.SUCCESS) result.failedExports++;
            done(r);
          }),
        shutdown: () => otlp.shutdown(),
      };
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.0.0', 'tenant.id': tenant, 'deployment.environment': t === 0 && s === 0 ? 'staging' : 'prod' }),
        spanProcessors: [new BatchSpanProcessor(counting, { scheduledDelayMillis: 500, maxQueueSize: 65_536, maxExportBatchSize: 2048 })],
      });
      providers.push(provider);
      return provider.getTracer('tracehouse-demo', '1.0.0');
    }),
  );
  const traffic = new AgentTraffic();
  const progress = new Progress('demo', opts.durationSeconds, 's');
  const started = Date.now();
  const deadline = started + opts.durationSeconds * 1000;
  while (Date.now() < deadline) {
    const due = Math.floor(((Date.now() - started) / 1000) * opts.rate);
    for (; result.runs < due; result.runs++) result.spans += traffic.emitRun(tracers[result.runs % tracers.length]!, Date.now());
    progress.update((Date.now() - started) / 1000, `${result.runs} runs, ${result.spans} spans`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(providers.map((p) => p.forceFlush()));
  await Promise.all(providers.map((p) => p.shutdown()));
  progress.done(`${result.runs} runs, ${result.spans} spans sent to ${opts.endpoint}${result.failedExports ? `, ${result.failedExports} exports failed` : ''}`);
  return result;
}
