// What the receiver hands accepted spans to. The HTTP stage answers 200 only after export() resolved.
import type { TracesData } from '../shared/otlp/model.js';
import type { EncodedTrace } from './split-protobuf.js';

export interface TracesExporter {
  readonly name: string;
  /** Resolves once the spans are durable downstream (Kafka acks=all, or a committed ClickHouse insert). */
  export(data: TracesData, spanCount: number): Promise<void>;
  /**
   * For exporters that write one protobuf TracesData per trace: takes the protobuf fast path's output
   * (split-protobuf.ts), traces at most `maxTraceBytes` each. Absent when the exporter needs decoded spans.
   */
  readonly encodedTraces?: { maxTraceBytes: number; export(traces: EncodedTrace[]): Promise<void> };
  ready(): boolean;
  shutdown(): Promise<void>;
}

/** Downstream cannot take data now; the client should retry (HTTP 503 + Retry-After). */
export class ExportUnavailableError extends Error {
  override name = 'ExportUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** The data itself can never be exported (e.g. one span larger than a Kafka message may be): HTTP 413. */
export class ExportTooLargeError extends Error {
  override name = 'ExportTooLargeError';
}
