// The OTLP trace data model as both decoders produce it and the encoder consumes it.
// Field names follow the OTLP JSON mapping; ids are lowercase hex, timestamps are
// unsigned 64-bit nanoseconds as bigint so no precision is lost above 2^53.

/** The OTLP signals Tracehouse takes: each has its pipelines, Kafka topic and tables. */
export type Signal = 'traces' | 'logs';

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: number | bigint }
  | { doubleValue: number }
  | { bytesValue: Uint8Array }
  | { arrayValue: AnyValue[] }
  | { kvlistValue: KeyValue[] }
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface Span {
  traceId: string;
  spanId: string;
  traceState: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: { code: number; message: string };
}

export interface ScopeSpans {
  scope: InstrumentationScope;
  spans: Span[];
  schemaUrl: string;
}

export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

/** TracesData and ExportTraceServiceRequest share this shape and wire format. */
export interface TracesData {
  resourceSpans: ResourceSpans[];
}

/** A decoded request: what was kept, and what was rejected and why (OTLP partial success). */
export interface DecodedTraces {
  data: TracesData;
  spanCount: number;
  rejectedSpans: number;
  rejectionReason: string;
}

/** Thrown by decoders for input that cannot be read at all (answered with 400). */
export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

export function countSpans(data: TracesData): number {
  let n = 0;
  for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

export function emptyScope(): InstrumentationScope {
  return { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
}

export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

export function emptySpan(): Span {
  return {
    traceId: '',
    spanId: '',
    traceState: '',
    parentSpanId: '',
    flags: 0,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Why a span cannot be stored, or '' when its ids are well-formed. */
export function invalidSpanReason(span: Span): string {
  if (span.traceId.length !== 32 || span.traceId === ZERO_TRACE_ID) return `span ${span.spanId || '?'}: trace_id must be 16 non-zero bytes`;
  if (span.spanId.length !== 16 || span.spanId === ZERO_SPAN_ID) return `span in trace ${span.traceId}: span_id must be 8 non-zero bytes`;
  if (span.parentSpanId.length !== 0 && span.parentSpanId.length !== 16) return `span ${span.spanId}: parent_span_id must be empty or 8 bytes`;
  return '';
}

/**
 * Drops spans with malformed ids (partial success) and empty containers, in place.
 * Returns the decoded view with counts, so both decoders report rejections the same way.
 */
export function validateTraces(data: TracesData, reasonOf: (span: Span) => string = invalidSpanReason): DecodedTraces {
  let spanCount = 0;
  let rejectedSpans = 0;
  let rejectionReason = '';
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      const kept: Span[] = [];
      for (const span of ss.spans) {
        const reason = reasonOf(span);
        if (reason === '') kept.push(span);
        else {
          rejectedSpans++;
          if (rejectionReason === '') rejectionReason = reason;
        }
      }
      ss.spans = kept;
      spanCount += kept.length;
    }
    rs.scopeSpans = rs.scopeSpans.filter((ss) => ss.spans.length > 0);
  }
  data.resourceSpans = data.resourceSpans.filter((rs) => rs.scopeSpans.length > 0);
  if (rejectedSpans > 0) rejectionReason = `${rejectedSpans} span(s) rejected; first: ${rejectionReason}`;
  return { data, spanCount, rejectedSpans, rejectionReason };
}

// ---------------------------------------------------------------- logs (logs/v1/logs.proto)

/** SeverityNumber: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL. */
export const SEVERITY_RANGES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;

/** SEVERITY_NUMBER_* names (OTLP/JSON may spell the enum by name) to their numbers. */
export const SeverityNumber: Record<string, number> = { UNSPECIFIED: 0 };
SEVERITY_RANGES.forEach((name, i) => {
  SeverityNumber[name] = 4 * i + 1;
  for (let n = 2; n <= 4; n++) SeverityNumber[`${name}${n}`] = 4 * i + n;
});

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
  /** Lowercase hex, '' when the record is not correlated with a span. */
  traceId: string;
  spanId: string;
  /** The event a record stands for (gen_ai.user.message, ...); '' for a plain log line. */
  eventName: string;
}

export interface ScopeLogs {
  scope: InstrumentationScope;
  logRecords: LogRecord[];
  schemaUrl: string;
}

export interface ResourceLogs {
  resource: Resource;
  scopeLogs: ScopeLogs[];
  schemaUrl: string;
}

/** LogsData and ExportLogsServiceRequest share this shape and wire format. */
export interface LogsData {
  resourceLogs: ResourceLogs[];
}

export interface DecodedLogs {
  data: LogsData;
  recordCount: number;
  rejectedRecords: number;
  rejectionReason: string;
}

/** The record's event name: the event_name field, or the `event.name` attribute older SDKs set instead. */
export function eventNameOf(record: LogRecord): string {
  if (record.eventName !== '') return record.eventName;
  for (const kv of record.attributes) if (kv.key === 'event.name' && 'stringValue' in kv.value) return kv.value.stringValue;
  return '';
}

export function countLogRecords(data: LogsData): number {
  let n = 0;
  for (const rl of data.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}

export function emptyLogRecord(): LogRecord {
  return { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: {}, attributes: [], droppedAttributesCount: 0, flags: 0, traceId: '', spanId: '', eventName: '' };
}

/** Why a log record cannot be stored, or '': its ids are optional, but when set they must be well-formed. */
export function invalidLogRecordReason(record: LogRecord): string {
  if (record.traceId !== '' && (record.traceId.length !== 32 || record.traceId === ZERO_TRACE_ID)) return 'log record: trace_id must be empty or 16 non-zero bytes';
  if (record.spanId !== '' && (record.spanId.length !== 16 || record.spanId === ZERO_SPAN_ID)) return 'log record: span_id must be empty or 8 non-zero bytes';
  if (record.severityNumber > 24) return `log record: severity_number ${record.severityNumber} is not a SeverityNumber (0-24)`;
  return '';
}

/** As validateTraces, for log records: drops malformed ones (partial success) and empty containers, in place. */
export function validateLogs(data: LogsData, reasonOf: (record: LogRecord) => string = invalidLogRecordReason): DecodedLogs {
  let recordCount = 0;
  let rejectedRecords = 0;
  let rejectionReason = '';
  for (const rl of data.resourceLogs) {
    for (const sl of rl.scopeLogs) {
      sl.logRecords = sl.logRecords.filter((record) => {
        const reason = reasonOf(record);
        if (reason === '') return true;
        if (rejectedRecords++ === 0) rejectionReason = reason;
        return false;
      });
      recordCount += sl.logRecords.length;
    }
    rl.scopeLogs = rl.scopeLogs.filter((sl) => sl.logRecords.length > 0);
  }
  data.resourceLogs = data.resourceLogs.filter((rl) => rl.scopeLogs.length > 0);
  if (rejectedRecords > 0) rejectionReason = `${rejectedRecords} log record(s) rejected; first: ${rejectionReason}`;
  return { data, recordCount, rejectedRecords, rejectionReason };
}
