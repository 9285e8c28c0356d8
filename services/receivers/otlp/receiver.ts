// The otlp receiver: OTLP/HTTP on receivers.otlp.protocols.http (http.ts), handing each
// accepted request to its pipelines and answering once they have it durably.
import type { Component, CreateSettings, ReceiverFactory, TracesConsumer } from '../../component/component.js';
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from './http.js';

export class OtlpReceiver implements Component {
  private http: OtlpHttpReceiver | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly next: TracesConsumer,
  ) {}

  /** The port it listens on (the configured one, or the OS's choice for port 0). */
  get port(): number | undefined {
    return this.http?.port;
  }

  async start(): Promise<void> {
    const { config, registry, log } = this.settings;
    this.http = await startOtlpHttpReceiver({ config, next: this.next, registry, log });
    log.info('otlp http receiver listening', { endpoint: `http://${config.otlp.host}:${this.http.port}/v1/traces`, fast_path: this.next.encoded?.tenancy !== undefined });
  }

  ready(): boolean {
    return this.http !== undefined;
  }

  /** Stops taking requests and answers those in flight. */
  async shutdown(): Promise<void> {
    await this.http?.close();
  }
}

export const otlpReceiverFactory: ReceiverFactory = {
  kind: 'receiver',
  type: 'otlp',
  produces: 'traces',
  create: async (settings, next) => new OtlpReceiver(settings, next),
};
