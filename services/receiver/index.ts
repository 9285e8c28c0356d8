// The receiver service: OTLP/HTTP -> decode -> process -> exporter (Kafka, or ClickHouse directly).
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { Redactor } from '../processors/redaction.js';
import type { TracesExporter } from './exporter.js';
import { startOtlpHttpReceiver } from './http.js';

export interface ReceiverService {
  readonly port: number;
  ready(): boolean;
  /** Stops intake, answers requests in flight, then shuts the exporter down. */
  stop(): Promise<void>;
}

export async function startReceiver(config: Config, exporter: TracesExporter, registry: Registry, log: Logger, redactor?: Redactor): Promise<ReceiverService> {
  const http = await startOtlpHttpReceiver({ config, exporter, redactor, registry, log });
  log.info('otlp http receiver listening', { endpoint: `http://${config.otlp.host}:${http.port}/v1/traces`, exporter: exporter.name });
  return {
    port: http.port,
    ready: () => exporter.ready(),
    stop: async () => {
      await http.close();
      await exporter.shutdown();
    },
  };
}
