// OTLP/JSON decoder for traces and logs (opentelemetry-proto docs/specification.md, JSON Protobuf Encoding):
// ids are hex (not base64), enums are integers, int64 may be a string or a number,
// lowerCamelCase keys (the proto field names are accepted too), unknown fields ignored.
import {
  type AnyValue,
  type DecodedLogs,
  type DecodedTraces,
  type InstrumentationScope,
  type KeyValue,
  type LogRecord,
  type ResourceLogs,
  type ScopeLogs,
  type Resource,
  type ResourceSpans,
  type ScopeSpans,
  type Span,
  type SpanEvent,
  type SpanLink,
  type TracesData,
  OtlpDecodeError,
  SeverityNumber,
  SpanKind,
  StatusCode,
  validateLogs,
  validateTraces,
} from './model.js';
import { MAX_ANY_VALUE_DEPTH } from './protobuf.js';

type Json = Record<string, unknown>;

// JSON.parse turns integers above 2^53 into inexact doubles; quote them first so they stay exact.
const LARGE_INT_FIELD = /"(startTimeUnixNano|endTimeUnixNano|timeUnixNano|observedTimeUnixNano|intValue|start_time_unix_nano|end_time_unix_nano|time_unix_nano|observed_time_unix_nano|int_value)"(\s*):(\s*)(-?\d{16,})/g;

function parseRoot(text: string): Json {
  let root: unknown;
  try {
    root = JSON.parse(text.replace(LARGE_INT_FIELD, '"$1"$2:$3"$4"'));
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(root)) throw new OtlpDecodeError('request body must be a JSON object');
  return root;
}

export function decodeTracesJson(text: string): DecodedTraces {
  const data: TracesData = { resourceSpans: list(parseRoot(text), 'resourceSpans', 'resource_spans').map(readResourceSpans) };
  return validateTraces(data);
}

export function decodeLogsJson(text: string): DecodedLogs {
  return validateLogs({ resourceLogs: list(parseRoot(text), 'resourceLogs', 'resource_logs').map(readResourceLogs) });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined ? o[snake] : v;
}

function list(o: Json, camel: string, snake = camel): Json[] {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${camel} must be an array`);
  for (const item of v) if (!isObject(item)) throw new OtlpDecodeError(`${camel} items must be objects`);
  return v as Json[];
}

/** A nested message; every one read this way has a one-word name, the same in camel and snake case. */
function obj(o: Json, name: string): Json {
  const v = field(o, name, name);
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new OtlpDecodeError(`${name} must be an object`);
  return v;
}

function str(o: Json, camel: string, snake = camel): string {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new OtlpDecodeError(`${camel} must be a string`);
  return v;
}

function uint32(o: Json, camel: string, snake = camel): number {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new OtlpDecodeError(`${camel} must be a uint32`);
  return n;
}

function enumValue(o: Json, camel: string, names: Record<string, number>, prefix: string, snake = camel): number {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const n = names[v.startsWith(prefix) ? v.slice(prefix.length) : v];
    if (n !== undefined) return n;
  }
  throw new OtlpDecodeError(`${camel} must be an enum integer`);
}

function nanos(o: Json, camel: string, snake: string): bigint {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return 0n;
  if ((typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
    const n = BigInt(v);
    if (n <= 0xffffffffffffffffn) return n;
  }
  throw new OtlpDecodeError(`${camel} must be an unsigned 64-bit integer`);
}

const HEX_ID = /^[0-9a-fA-F]*$/;

/** Malformed ids become '' so validation rejects that span alone (partial success), not the request. */
function hexId(o: Json, camel: string, snake: string): string {
  const v = field(o, camel, snake);
  if (typeof v !== 'string' || !HEX_ID.test(v)) return v === undefined || v === null ? '' : 'invalid';
  return v.toLowerCase();
}

function readResourceSpans(o: Json): ResourceSpans {
  return {
    resource: readResource(obj(o, 'resource')),
    scopeSpans: list(o, 'scopeSpans', 'scope_spans').map(readScopeSpans),
    schemaUrl: str(o, 'schemaUrl', 'schema_url'),
  };
}

function readResource(o: Json): Resource {
  return { attributes: readAttributes(o), droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count') };
}

function readScopeSpans(o: Json): ScopeSpans {
  return {
    scope: readScope(obj(o, 'scope')),
    spans: list(o, 'spans').map(readSpan),
    schemaUrl: str(o, 'schemaUrl', 'schema_url'),
  };
}

function readScope(o: Json): InstrumentationScope {
  return {
    name: str(o, 'name'),
    version: str(o, 'version'),
    attributes: readAttributes(o),
    droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
}

function readSpan(o: Json): Span {
  const status = obj(o, 'status');
  return {
    traceId: hexId(o, 'traceId', 'trace_id'),
    spanId: hexId(o, 'spanId', 'span_id'),
    traceState: str(o, 'traceState', 'trace_state'),
    parentSpanId: hexId(o, 'parentSpanId', 'parent_span_id'),
    flags: uint32(o, 'flags'),
    name: str(o, 'name'),
    kind: enumValue(o, 'kind', SpanKind, 'SPAN_KIND_'),
    startTimeUnixNano: nanos(o, 'startTimeUnixNano', 'start_time_unix_nano'),
    endTimeUnixNano: nanos(o, 'endTimeUnixNano', 'end_time_unix_nano'),
    attributes: readAttributes(o),
    droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
    events: list(o, 'events').map(readEvent),
    droppedEventsCount: uint32(o, 'droppedEventsCount', 'dropped_events_count'),
    links: list(o, 'links').map(readLink),
    droppedLinksCount: uint32(o, 'droppedLinksCount', 'dropped_links_count'),
    status: { code: enumValue(status, 'code', StatusCode, 'STATUS_CODE_'), message: str(status, 'message') },
  };
}

function readEvent(o: Json): SpanEvent {
  return {
    timeUnixNano: nanos(o, 'timeUnixNano', 'time_unix_nano'),
    name: str(o, 'name'),
    attributes: readAttributes(o),
    droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
}

function readLink(o: Json): SpanLink {
  return {
    traceId: hexId(o, 'traceId', 'trace_id'),
    spanId: hexId(o, 'spanId', 'span_id'),
    traceState: str(o, 'traceState', 'trace_state'),
    attributes: readAttributes(o),
    droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32(o, 'flags'),
  };
}

function readResourceLogs(o: Json): ResourceLogs {
  return {
    resource: readResource(obj(o, 'resource')),
    scopeLogs: list(o, 'scopeLogs', 'scope_logs').map(readScopeLogs),
    schemaUrl: str(o, 'schemaUrl', 'schema_url'),
  };
}

function readScopeLogs(o: Json): ScopeLogs {
  return {
    scope: readScope(obj(o, 'scope')),
    logRecords: list(o, 'logRecords', 'log_records').map(readLogRecord),
    schemaUrl: str(o, 'schemaUrl', 'schema_url'),
  };
}

function readLogRecord(o: Json): LogRecord {
  return {
    timeUnixNano: nanos(o, 'timeUnixNano', 'time_unix_nano'),
    observedTimeUnixNano: nanos(o, 'observedTimeUnixNano', 'observed_time_unix_nano'),
    severityNumber: enumValue(o, 'severityNumber', SeverityNumber, 'SEVERITY_NUMBER_', 'severity_number'),
    severityText: str(o, 'severityText', 'severity_text'),
    body: readAnyValue(obj(o, 'body'), 0),
    attributes: readAttributes(o),
    droppedAttributesCount: uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32(o, 'flags'),
    traceId: hexId(o, 'traceId', 'trace_id'),
    spanId: hexId(o, 'spanId', 'span_id'),
    eventName: str(o, 'eventName', 'event_name'),
  };
}

function readAttributes(o: Json): KeyValue[] {
  return readKeyValues(list(o, 'attributes'), 0);
}

function readKeyValues(items: Json[], depth: number): KeyValue[] {
  return items.map((kv) => ({ key: str(kv, 'key'), value: readAnyValue(obj(kv, 'value'), depth) }));
}

function readAnyValue(o: Json, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  let v: unknown;
  if ((v = field(o, 'stringValue', 'string_value')) !== undefined) {
    if (typeof v !== 'string') throw new OtlpDecodeError('stringValue must be a string');
    return { stringValue: v };
  }
  if ((v = field(o, 'boolValue', 'bool_value')) !== undefined) {
    if (typeof v !== 'boolean') throw new OtlpDecodeError('boolValue must be a boolean');
    return { boolValue: v };
  }
  if ((v = field(o, 'intValue', 'int_value')) !== undefined) return { intValue: int64(v) };
  if ((v = field(o, 'doubleValue', 'double_value')) !== undefined) {
    const d = typeof v === 'string' ? Number(v) : v;
    if (typeof d !== 'number' || (Number.isNaN(d) && v !== 'NaN')) throw new OtlpDecodeError('doubleValue must be a number');
    return { doubleValue: d };
  }
  if ((v = field(o, 'arrayValue', 'array_value')) !== undefined) {
    return { arrayValue: list(isObject(v) ? v : {}, 'values').map((item) => readAnyValue(item, depth + 1)) };
  }
  if ((v = field(o, 'kvlistValue', 'kvlist_value')) !== undefined) {
    return { kvlistValue: readKeyValues(list(isObject(v) ? v : {}, 'values'), depth + 1) };
  }
  if ((v = field(o, 'bytesValue', 'bytes_value')) !== undefined) {
    if (typeof v !== 'string') throw new OtlpDecodeError('bytesValue must be a base64 string');
    return { bytesValue: Buffer.from(v, 'base64') };
  }
  return {};
}

function int64(v: unknown): number | bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const n = BigInt(v);
    if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new OtlpDecodeError('intValue out of int64 range');
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  throw new OtlpDecodeError('intValue must be an int64 (number or decimal string)');
}
