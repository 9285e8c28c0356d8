// The OTLP trace data model as both decoders produce it and the encoder consumes it.
// Field names follow the OTLP JSON mapping; ids are lowercase hex, timestamps are
// unsigned 64-bit nanoseconds as bigint so no precision is lost above 2^53.

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
