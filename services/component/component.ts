// The component model, after the OpenTelemetry Collector's: every receiver, processor and exporter
// is a factory (type, kind, what it consumes and produces, create) and a running component (start,
// shutdown, ready). A pipeline's data has one of three kinds: `traces` or `logs` (OTLP TracesData /
// LogsData, as received: the pipeline's signal) and `rows` (spans_raw / events_raw / logs_raw rows,
// after the genai processor mapped them). builder.ts connects the components of every
// service.pipelines entry by those kinds.
import type { Kafka } from 'kafkajs';
import type { EncodedTrace } from '../otlp/split.js';
import type { ClickHouseHandle } from '../shared/clickhouse/client.js';
import type { Section } from '../shared/config.js';
import type { LocalLog } from '../shared/local-log.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { TenancyDefaults } from '../otlp/attributes.js';
import type { NormalizedRows } from '../processors/genai/rows.js';
import type { LogsData, Signal, TracesData } from '../otlp/model.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter';
export type DataKind = Signal | 'rows';

export interface Component {
  start(): Promise<void>;
  /** Stops taking data and finishes what it holds (a receiver answers what is in flight). */
  shutdown(): Promise<void>;
  ready(): boolean;
}

/** What travels with one request's data: the tenant its API key authenticated, if any. */
export interface RequestContext {
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

/** What the exactly-once protocol needs to know of a batch's payload. */
export interface RowsKind<R> {
  empty(): R;
  count(rows: R): number;
  merge(rows: R[]): R;
}

/**
 * An INSERT with a dedup token: the exporter side of the Kafka receiver's exactly-once protocol. Rows
 * wait for their batch's INSERT in the sink's own form (R), made when their message is read.
 */
export interface BatchSink<R = unknown> extends RowsKind<R> {
  /** One message's rows in the form the sink holds; throws a PermanentError when they can never be stored. */
  prepare(rows: NormalizedRows): R;
  /** Rejects with a PermanentError when the rows can never be stored; any other failure is retried. */
  insert(rows: R, dedupToken: string): Promise<void>;
}

/** How rows are cut into INSERTs: the batch processor's settings. */
export interface BatchLimits {
  /** A batch is sent once it holds this many rows... */
  maxRows: number;
  /** ...or this long after its first row (ten times as long while a Kafka partition lags: Batcher.setBehind). */
  maxDelayMs: number;
  /** Rows a Kafka receiver buffers or has in flight before its readers wait: the most a waiting batch grows to (about). */
  maxBufferedRows: number;
}

/** The exactly-once store a Kafka receiver runs: its chain maps traces or logs to rows, sets the batch limits and inserts with dedup tokens. */
export interface ExactlyOnceStage<D = TracesData> {
  normalize(data: D): NormalizedRows;
  batch: BatchLimits | undefined;
  sink: BatchSink | undefined;
}

export interface TracesConsumer {
  /** Resolves once the spans are durable downstream; rejects with a PermanentError or RetryableError. */
  consumeTraces(data: TracesData, ctx: RequestContext): Promise<void>;
  readonly encoded?: EncodedTracesConsumer;
  readonly exactlyOnce?: ExactlyOnceStage;
}

export interface LogsConsumer {
  /** Resolves once the log records are durable downstream; rejects with a PermanentError or RetryableError. */
  consumeLogs(data: LogsData, ctx: RequestContext): Promise<void>;
  readonly exactlyOnce?: ExactlyOnceStage<LogsData>;
}

/** What a receiver hands its data to: one consumer per signal it has a pipeline for. */
export interface SignalConsumers {
  traces?: TracesConsumer;
  logs?: LogsConsumer;
}

export type AnyConsumer = TracesConsumer | LogsConsumer | RowsConsumer;

export interface RowsConsumer {
  consumeRows(rows: NormalizedRows): Promise<void>;
  /** Batch limits, set by the batch processor for the Kafka receiver's exactly-once batches. */
  readonly batch?: ExactlyOnceStage['batch'];
  /** An INSERT with a dedup token: the exporter side of the exactly-once protocol. */
  readonly sink?: BatchSink;
}

/** Shared by the components of one process, opened on first use and closed after every component stopped. */
export interface Resources {
  clickhouse(): Promise<ClickHouseHandle>;
  kafka(): Kafka;
  /** The local durable log of `directory`, one per process whoever asks first (its exporter, or a receiver draining it). */
  localLog(opts: { directory: string; maxBytes: number; segmentBytes: number }): Promise<LocalLog>;
}

/** Identifies a component type: the builder looks its settings up by it. */
export interface ComponentType<C = unknown> {
  kind: ComponentKind;
  type: string;
  /**
   * Its settings from its section of the config (`receivers.otlp`, ...), validated here where they
   * are defined. An absent or empty section gives the defaults; environment overrides apply.
   */
  parseConfig(section: Section): C;
}

export interface CreateSettings<C = unknown> {
  /** The component id in the config (its type, for now). */
  id: string;
  /** Its own settings, as its parseConfig returned them. */
  config: C;
  /** Another component's settings, for the few that follow one (the retention the receiver checks spans against). */
  configOf<D>(factory: ComponentType<D>): D;
  registry: Registry;
  log: Logger;
  resources: Resources;
  /**
   * For a running component that cannot go on (the Collector's fatal error status): the process
   * stops every pipeline and exits, with the error as its reason. Once per component.
   */
  reportFatal(err: Error): void;
  /** The YAML path of the pipeline being built, for errors (a receiver's: of each pipeline it serves). */
  pipeline: string;
}

export interface ReceiverFactory<C = unknown> extends ComponentType<C> {
  kind: 'receiver';
  /** The signals it receives; one instance serves the pipelines of each. */
  produces: readonly Signal[];
  create(settings: CreateSettings<C>, next: SignalConsumers): Promise<Component>;
}

export interface ProcessorFactory<C = unknown> extends ComponentType<C> {
  kind: 'processor';
  /** What it turns each kind it takes into (`{ traces: 'rows', logs: 'rows' }`); one instance per pipeline. */
  kinds: Partial<Record<DataKind, DataKind>>;
  /** `input` is the kind this instance takes: `next` consumes `kinds[input]`. */
  create(settings: CreateSettings<C>, next: AnyConsumer, input: DataKind): Promise<AnyConsumer & Component>;
}

export interface ExporterFactory<C = unknown> extends ComponentType<C> {
  kind: 'exporter';
  /** The kinds it takes; one instance serves every pipeline that lists it. */
  consumes: readonly DataKind[];
  create(settings: CreateSettings<C>): Promise<AnyConsumer & Component>;
}

// `any`: the registry holds factories of every settings type; each one's own C types its create().
export type Factory = ReceiverFactory<any> | ProcessorFactory<any> | ExporterFactory<any>;

/** The settings type a factory parses. */
export type ConfigOf<F> = F extends ComponentType<infer C> ? C : never;

/** A component with nothing to start or stop. */
export const STATELESS: Component = { start: async () => undefined, shutdown: async () => undefined, ready: () => true };
