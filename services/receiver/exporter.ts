// What the receiver hands accepted spans to. The HTTP stage answers 200 only after export() resolved;
// a failed export rejects with shared/errors.ts' PermanentError or RetryableError.
import type { TracesData } from '../shared/otlp/model.js';
import type { EncodedTrace } from './split-protobuf.js';

export interface TracesExporter {
  readonly name: string;
  /** Resolves once the spans are durable downstream (Kafka acks=all, or a committed ClickHouse insert). */
  export(data: TracesData): Promise<void>;
  /**
   * For exporters that write one protobuf TracesData per trace: takes the protobuf fast path's output
   * (split-protobuf.ts), traces at most `maxTraceBytes` each. Absent when the exporter needs decoded spans.
   */
  readonly encodedTraces?: { maxTraceBytes: number; export(traces: EncodedTrace[]): Promise<void> };
  ready(): boolean;
  shutdown(): Promise<void>;
}
