// The otlp receiver: OTLP/HTTP (http.ts) and OTLP/gRPC (grpc.ts) on receivers.otlp.protocols, for
// traces and logs, handing each accepted request to its signal's pipelines (export.ts) and
// answering once they have it durably.
import type { Component, CreateSettings, ReceiverFactory, SignalConsumers } from '../../component/component.js';
import { clickhouseExporterFactory } from '../../exporters/clickhouse/exporter.js';
import { type OtlpReceiverConfig, parseOtlpReceiverConfig } from './config.js';
import { OtlpExport } from './export.js';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './grpc.js';
import { LOGS_PATH, type OtlpHttpReceiver, TRACES_PATH, startOtlpHttpReceiver } from './http.js';

export class OtlpReceiver implements Component {
  private http: OtlpHttpReceiver | undefined;
  private grpc: OtlpGrpcReceiver | undefined;
  private started = false;

  constructor(
    private readonly settings: CreateSettings<OtlpReceiverConfig>,
    private readonly next: SignalConsumers,
  ) {}

  /** The OTLP/HTTP port (the configured one, or the OS's choice for port 0); undefined when not served. */
  get port(): number | undefined {
    return this.http?.port;
  }

  /** The OTLP/gRPC port; undefined when not served. */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  async start(): Promise<void> {
    const { config, registry, log } = this.settings;
    const retentionDays = this.settings.configOf(clickhouseExporterFactory).ttlDays;
    const otlp = new OtlpExport(config, retentionDays, this.next, registry, log);
    const fastPath = this.next.traces?.encoded?.tenancy !== undefined;
    const signals = (['traces', 'logs'] as const).filter((s) => otlp.serves(s));
    try {
      if (config.http) {
        this.http = await startOtlpHttpReceiver({ config: config.http, otlp, registry });
        const base = `http${config.http.tls ? 's' : ''}://${config.http.host}:${this.http.port}`;
        log.info('otlp http receiver listening', { endpoints: signals.map((s) => base + (s === 'traces' ? TRACES_PATH : LOGS_PATH)), tls: config.http.tls !== null, fast_path: fastPath });
      }
      if (config.grpc) {
        this.grpc = await startOtlpGrpcReceiver({ protocol: config.grpc, otlp, registry });
        log.info('otlp grpc receiver listening', { endpoint: `${config.grpc.host}:${this.grpc.port}`, signals, tls: config.grpc.tls !== null, fast_path: fastPath });
      }
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    this.started = true;
  }

  ready(): boolean {
    return this.started;
  }

  /** Stops taking requests and answers those in flight. */
  async shutdown(): Promise<void> {
    this.started = false;
    await Promise.all([this.http?.close(), this.grpc?.close()]);
  }
}

export const otlpReceiverFactory = {
  kind: 'receiver',
  type: 'otlp' as const,
  produces: ['traces', 'logs'],
  parseConfig: parseOtlpReceiverConfig,
  create: async (settings, next) => new OtlpReceiver(settings, next),
} satisfies ReceiverFactory<OtlpReceiverConfig>;
