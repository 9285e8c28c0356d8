// The component model, after the OpenTelemetry Collector's: every receiver, processor and exporter
// is a factory (type, kind, what it consumes and produces, create) and a running component (start,
// shutdown, ready). A pipeline's data has one of two kinds: `traces` (OTLP TracesData, as received)
// and `rows` (spans_raw / events_raw rows, after the genai processor mapped them). builder.ts
// connects the components of every service.pipelines entry by those kinds.
import type { Kafka } from 'kafkajs';
import type { BatchSink } from '../receivers/kafka/partition-batches.js';
import type { EncodedTrace } from '../receivers/otlp/split-protobuf.js';
import type { ClickHouseHandle } from '../shared/clickhouse/client.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { TenancyDefaults } from '../otlp/attributes.js';
import type { NormalizedRows } from '../processors/genai/rows.js';
import type { TracesData } from '../otlp/model.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter';
export type DataKind = 'traces' | 'rows';

export interface Component {
  start(): Promise<void>;
  /** Stops taking data and finishes what it holds (a receiver answers what is in flight). */
  shutdown(): Promise<void>;
  ready(): boolean;
}

/** What travels with one request's spans: the tenant its API key authenticated, if any. */
export interface TracesContext {
  tenant: string | undefined;
}

/**
 * The receiver's protobuf fast path: per-trace messages split from the request without decoding
 * spans, with the attributes processor's tenancy stamped while splitting. Offered only by chains
 * that do nothing else to the spans (attributes, then exporters writing one message per trace).
 */
export interface EncodedTracesConsumer {
  maxTraceBytes: number;
  /** Present once the attributes processor is in the chain: the fast path stamps it. */
  tenancy?: TenancyDefaults;
  consume(traces: EncodedTrace[]): Promise<void>;
}

/** The exactly-once store a Kafka receiver runs: its chain maps traces to rows, sets the batch limits and inserts with dedup tokens. */
export interface ExactlyOnceStage {
  normalize(data: TracesData): NormalizedRows;
  batch: { maxRows: number; maxDelayMs: number; maxConcurrentFlushes: number } | undefined;
  sink: BatchSink<NormalizedRows> | undefined;
}

export interface TracesConsumer {
  /** Resolves once the spans are durable downstream; rejects with a PermanentError or RetryableError. */
  consumeTraces(data: TracesData, ctx: TracesContext): Promise<void>;
  readonly encoded?: EncodedTracesConsumer;
  readonly exactlyOnce?: ExactlyOnceStage;
}

export interface RowsConsumer {
  consumeRows(rows: NormalizedRows): Promise<void>;
  /** Batch limits, set by the batch processor for the Kafka receiver's exactly-once batches. */
  readonly batch?: ExactlyOnceStage['batch'];
  /** An INSERT with a dedup token: the exporter side of the exactly-once protocol. */
  readonly sink?: BatchSink<NormalizedRows>;
}

/** Shared by the components of one process, opened on first use and closed after every component stopped. */
export interface Resources {
  clickhouse(): Promise<ClickHouseHandle>;
  kafka(): Kafka;
}

export interface CreateSettings {
  /** The component id in the config (its type, for now). */
  id: string;
  config: Config;
  registry: Registry;
  log: Logger;
  resources: Resources;
  /** The YAML path of the pipeline being built, for errors. */
  pipeline: string;
}

export interface ReceiverFactory {
  kind: 'receiver';
  type: string;
  produces: DataKind;
  create(settings: CreateSettings, next: TracesConsumer): Promise<Component>;
}

export interface ProcessorFactory {
  kind: 'processor';
  type: string;
  consumes: DataKind;
  produces: DataKind;
  create(settings: CreateSettings, next: TracesConsumer | RowsConsumer): Promise<(TracesConsumer | RowsConsumer) & Component>;
}

export interface ExporterFactory {
  kind: 'exporter';
  type: string;
  consumes: DataKind;
  create(settings: CreateSettings): Promise<(TracesConsumer | RowsConsumer) & Component>;
}

export type Factory = ReceiverFactory | ProcessorFactory | ExporterFactory;

/** A component with nothing to start or stop. */
export const STATELESS: Component = { start: async () => undefined, shutdown: async () => undefined, ready: () => true };
