// OTLP protobuf codec for ExportTraceServiceRequest / TracesData and ExportLogsServiceRequest /
// LogsData (each pair has one wire format). Field numbers: opentelemetry-proto trace/v1/trace.proto,
// logs/v1/logs.proto, common/v1/common.proto, resource/v1/resource.proto.
import {
  type AnyValue,
  type DecodedLogs,
  type DecodedTraces,
  type InstrumentationScope,
  type KeyValue,
  type LogRecord,
  type LogsData,
  type ResourceLogs,
  type ScopeLogs,
  type Resource,
  type ResourceSpans,
  type ScopeSpans,
  type Span,
  type SpanEvent,
  type SpanLink,
  type TracesData,
  emptyLogRecord,
  emptyResource,
  emptyScope,
  emptySpan,
  OtlpDecodeError,
  validateLogs,
  validateTraces,
} from './model.js';
import { ProtoReader, ProtoWriter, WireType } from './wire.js';

/** Nesting cap for AnyValue arrays/kvlists: deeper input is hostile, not telemetry. */
export const MAX_ANY_VALUE_DEPTH = 32;

export function decodeTracesProtobuf(buf: Uint8Array): DecodedTraces {
  const r = new ProtoReader(buf);
  const data: TracesData = { resourceSpans: [] };
  const end = r.length;
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) data.resourceSpans.push(readResourceSpans(r, r.len()));
    else r.skip();
  }
  return validateTraces(data);
}

export function decodeLogsProtobuf(buf: Uint8Array): DecodedLogs {
  const r = new ProtoReader(buf);
  const data: LogsData = { resourceLogs: [] };
  const end = r.length;
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) data.resourceLogs.push(readResourceLogs(r, r.len()));
    else r.skip();
  }
  return validateLogs(data);
}

// Each reader consumes fields until `end`, the end offset of its message, and leaves r.pos there.

function readResourceSpans(r: ProtoReader, end: number): ResourceSpans {
  const rs: ResourceSpans = { resource: emptyResource(), scopeSpans: [], schemaUrl: '' };
  while (r.next(end)) {
    if (r.wireType !== WireType.LEN) r.skip();
    else if (r.field === 1) rs.resource = readResource(r, r.len());
    else if (r.field === 2) rs.scopeSpans.push(readScopeSpans(r, r.len()));
    else if (r.field === 3) rs.schemaUrl = r.string();
    else r.skip();
  }
  return rs;
}

export function readResource(r: ProtoReader, end: number): Resource {
  const res = emptyResource();
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) res.attributes.push(readKeyValue(r, r.len(), 0));
    else if (r.field === 2 && r.wireType === WireType.VARINT) res.droppedAttributesCount = r.uint();
    else r.skip();
  }
  return res;
}

function readScopeSpans(r: ProtoReader, end: number): ScopeSpans {
  const ss: ScopeSpans = { scope: emptyScope(), spans: [], schemaUrl: '' };
  while (r.next(end)) {
    if (r.wireType !== WireType.LEN) r.skip();
    else if (r.field === 1) ss.scope = readScope(r, r.len());
    else if (r.field === 2) ss.spans.push(readSpan(r, r.len()));
    else if (r.field === 3) ss.schemaUrl = r.string();
    else r.skip();
  }
  return ss;
}

function readResourceLogs(r: ProtoReader, end: number): ResourceLogs {
  const rl: ResourceLogs = { resource: emptyResource(), scopeLogs: [], schemaUrl: '' };
  while (r.next(end)) {
    if (r.wireType !== WireType.LEN) r.skip();
    else if (r.field === 1) rl.resource = readResource(r, r.len());
    else if (r.field === 2) rl.scopeLogs.push(readScopeLogs(r, r.len()));
    else if (r.field === 3) rl.schemaUrl = r.string();
    else r.skip();
  }
  return rl;
}

function readScopeLogs(r: ProtoReader, end: number): ScopeLogs {
  const sl: ScopeLogs = { scope: emptyScope(), logRecords: [], schemaUrl: '' };
  while (r.next(end)) {
    if (r.wireType !== WireType.LEN) r.skip();
    else if (r.field === 1) sl.scope = readScope(r, r.len());
    else if (r.field === 2) sl.logRecords.push(readLogRecord(r, r.len()));
    else if (r.field === 3) sl.schemaUrl = r.string();
    else r.skip();
  }
  return sl;
}

/** Wire type each LogRecord field must have (field 4 is reserved); another wire type is skipped as unknown. */
const LOG_RECORD_WIRE_TYPES = [-1, 1, 0, 2, -1, 2, 2, 0, 5, 2, 2, 1, 2];

function readLogRecord(r: ProtoReader, end: number): LogRecord {
  const l = emptyLogRecord();
  while (r.next(end)) {
    if (LOG_RECORD_WIRE_TYPES[r.field] !== r.wireType) {
      r.skip();
      continue;
    }
    switch (r.field) {
      case 1: l.timeUnixNano = r.fixed64(); break;
      case 2: l.severityNumber = r.uint(); break;
      case 3: l.severityText = r.string(); break;
      case 5: l.body = readAnyValue(r, r.len(), 0); break;
      case 6: l.attributes.push(readKeyValue(r, r.len(), 0)); break;
      case 7: l.droppedAttributesCount = r.uint(); break;
      case 8: l.flags = r.fixed32(); break;
      case 9: l.traceId = r.hex(); break;
      case 10: l.spanId = r.hex(); break;
      case 11: l.observedTimeUnixNano = r.fixed64(); break;
      case 12: l.eventName = r.string(); break;
    }
  }
  return l;
}

function readScope(r: ProtoReader, end: number): InstrumentationScope {
  const scope = emptyScope();
  while (r.next(end)) {
    const wt = r.wireType;
    if (r.field === 1 && wt === WireType.LEN) scope.name = r.string();
    else if (r.field === 2 && wt === WireType.LEN) scope.version = r.string();
    else if (r.field === 3 && wt === WireType.LEN) scope.attributes.push(readKeyValue(r, r.len(), 0));
    else if (r.field === 4 && wt === WireType.VARINT) scope.droppedAttributesCount = r.uint();
    else r.skip();
  }
  return scope;
}

/** Wire type each Span field must have; a field with another wire type is skipped as unknown. */
export const SPAN_WIRE_TYPES = [-1, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5];

function readSpan(r: ProtoReader, end: number): Span {
  const s = emptySpan();
  while (r.next(end)) {
    if (SPAN_WIRE_TYPES[r.field] !== r.wireType) {
      r.skip();
      continue;
    }
    switch (r.field) {
      case 1: s.traceId = r.hex(); break;
      case 2: s.spanId = r.hex(); break;
      case 3: s.traceState = r.string(); break;
      case 4: s.parentSpanId = r.hex(); break;
      case 5: s.name = r.string(); break;
      case 6: s.kind = r.uint(); break;
      case 7: s.startTimeUnixNano = r.fixed64(); break;
      case 8: s.endTimeUnixNano = r.fixed64(); break;
      case 9: s.attributes.push(readKeyValue(r, r.len(), 0)); break;
      case 10: s.droppedAttributesCount = r.uint(); break;
      case 11: s.events.push(readEvent(r, r.len())); break;
      case 12: s.droppedEventsCount = r.uint(); break;
      case 13: s.links.push(readLink(r, r.len())); break;
      case 14: s.droppedLinksCount = r.uint(); break;
      case 15: s.status = readStatus(r, r.len()); break;
      case 16: s.flags = r.fixed32(); break;
    }
  }
  return s;
}

function readEvent(r: ProtoReader, end: number): SpanEvent {
  const e: SpanEvent = { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 };
  while (r.next(end)) {
    const wt = r.wireType;
    if (r.field === 1 && wt === WireType.I64) e.timeUnixNano = r.fixed64();
    else if (r.field === 2 && wt === WireType.LEN) e.name = r.string();
    else if (r.field === 3 && wt === WireType.LEN) e.attributes.push(readKeyValue(r, r.len(), 0));
    else if (r.field === 4 && wt === WireType.VARINT) e.droppedAttributesCount = r.uint();
    else r.skip();
  }
  return e;
}

function readLink(r: ProtoReader, end: number): SpanLink {
  const l: SpanLink = { traceId: '', spanId: '', traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 };
  while (r.next(end)) {
    const wt = r.wireType;
    if (r.field === 1 && wt === WireType.LEN) l.traceId = r.hex();
    else if (r.field === 2 && wt === WireType.LEN) l.spanId = r.hex();
    else if (r.field === 3 && wt === WireType.LEN) l.traceState = r.string();
    else if (r.field === 4 && wt === WireType.LEN) l.attributes.push(readKeyValue(r, r.len(), 0));
    else if (r.field === 5 && wt === WireType.VARINT) l.droppedAttributesCount = r.uint();
    else if (r.field === 6 && wt === WireType.I32) l.flags = r.fixed32();
    else r.skip();
  }
  return l;
}

function readStatus(r: ProtoReader, end: number): { code: number; message: string } {
  const st = { code: 0, message: '' };
  while (r.next(end)) {
    if (r.field === 2 && r.wireType === WireType.LEN) st.message = r.string();
    else if (r.field === 3 && r.wireType === WireType.VARINT) st.code = r.uint();
    else r.skip();
  }
  return st;
}

function readKeyValue(r: ProtoReader, end: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue = {};
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) key = r.string();
    else if (r.field === 2 && r.wireType === WireType.LEN) value = readAnyValue(r, r.len(), depth);
    else r.skip();
  }
  return { key, value };
}

function readAnyValue(r: ProtoReader, end: number, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  let v: AnyValue = {};
  while (r.next(end)) {
    const wt = r.wireType;
    switch (r.field) {
      case 1: if (wt === WireType.LEN) { v = { stringValue: r.string() }; continue; } break;
      case 2: if (wt === WireType.VARINT) { v = { boolValue: r.uint() !== 0 }; continue; } break;
      case 3: if (wt === WireType.VARINT) { v = { intValue: r.int64() }; continue; } break;
      case 4: if (wt === WireType.I64) { v = { doubleValue: r.double() }; continue; } break;
      case 5: if (wt === WireType.LEN) { v = { arrayValue: readArray(r, r.len(), depth + 1) }; continue; } break;
      case 6: if (wt === WireType.LEN) { v = { kvlistValue: readKvList(r, r.len(), depth + 1) }; continue; } break;
      case 7: if (wt === WireType.LEN) { v = { bytesValue: r.bytes() }; continue; } break;
    }
    r.skip();
  }
  return v;
}

function readArray(r: ProtoReader, end: number, depth: number): AnyValue[] {
  const out: AnyValue[] = [];
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) out.push(readAnyValue(r, r.len(), depth));
    else r.skip();
  }
  return out;
}

function readKvList(r: ProtoReader, end: number, depth: number): KeyValue[] {
  const out: KeyValue[] = [];
  while (r.next(end)) {
    if (r.field === 1 && r.wireType === WireType.LEN) out.push(readKeyValue(r, r.len(), depth));
    else r.skip();
  }
  return out;
}

// ---------------------------------------------------------------- encoding

export function encodeTracesProtobuf(data: TracesData): Uint8Array {
  const w = new ProtoWriter(16384);
  for (const rs of data.resourceSpans) {
    w.fork(1);
    writeResourceSpans(w, rs);
    w.join();
  }
  return w.finish();
}

/** ResourceSpans.resource (field 1), tag included. */
export function writeResource(w: ProtoWriter, resource: Resource): void {
  w.fork(1);
  writeAttributes(w, 1, resource.attributes);
  w.uint(2, resource.droppedAttributesCount);
  w.join();
}

/** ScopeSpans.scope / ScopeLogs.scope (field 1), tag included. */
function writeScope(w: ProtoWriter, scope: InstrumentationScope): void {
  w.fork(1).string(1, scope.name).string(2, scope.version);
  writeAttributes(w, 3, scope.attributes);
  w.uint(4, scope.droppedAttributesCount).join();
}

function writeResourceSpans(w: ProtoWriter, rs: ResourceSpans): void {
  writeResource(w, rs.resource);
  for (const ss of rs.scopeSpans) {
    w.fork(2);
    writeScope(w, ss.scope);
    for (const span of ss.spans) {
      w.fork(2);
      writeSpan(w, span);
      w.join();
    }
    w.string(3, ss.schemaUrl).join();
  }
  w.string(3, rs.schemaUrl);
}

function writeSpan(w: ProtoWriter, s: Span): void {
  w.hex(1, s.traceId).hex(2, s.spanId).string(3, s.traceState).hex(4, s.parentSpanId).string(5, s.name).uint(6, s.kind);
  w.fixed64(7, s.startTimeUnixNano).fixed64(8, s.endTimeUnixNano);
  writeAttributes(w, 9, s.attributes);
  w.uint(10, s.droppedAttributesCount);
  for (const e of s.events) {
    w.fork(11).fixed64(1, e.timeUnixNano).string(2, e.name);
    writeAttributes(w, 3, e.attributes);
    w.uint(4, e.droppedAttributesCount).join();
  }
  w.uint(12, s.droppedEventsCount);
  for (const l of s.links) {
    w.fork(13).hex(1, l.traceId).hex(2, l.spanId).string(3, l.traceState);
    writeAttributes(w, 4, l.attributes);
    w.uint(5, l.droppedAttributesCount).fixed32(6, l.flags).join();
  }
  w.uint(14, s.droppedLinksCount);
  if (s.status.code !== 0 || s.status.message !== '') w.fork(15).string(2, s.status.message).uint(3, s.status.code).join();
  w.fixed32(16, s.flags);
}

export function encodeLogsProtobuf(data: LogsData): Uint8Array {
  const w = new ProtoWriter(16384);
  for (const rl of data.resourceLogs) {
    w.fork(1);
    writeResource(w, rl.resource);
    for (const sl of rl.scopeLogs) {
      w.fork(2);
      writeScope(w, sl.scope);
      for (const l of sl.logRecords) {
        w.fork(2).fixed64(1, l.timeUnixNano).uint(2, l.severityNumber).string(3, l.severityText);
        if (!isEmptyValue(l.body)) {
          w.fork(5);
          writeAnyValue(w, l.body);
          w.join();
        }
        writeAttributes(w, 6, l.attributes);
        w.uint(7, l.droppedAttributesCount).fixed32(8, l.flags).hex(9, l.traceId).hex(10, l.spanId).fixed64(11, l.observedTimeUnixNano).string(12, l.eventName).join();
      }
      w.string(3, sl.schemaUrl).join();
    }
    w.string(3, rl.schemaUrl).join();
  }
  return w.finish();
}

function isEmptyValue(v: AnyValue): boolean {
  return Object.keys(v).length === 0;
}

function writeAttributes(w: ProtoWriter, field: number, attrs: KeyValue[]): void {
  for (const kv of attrs) {
    w.fork(field).string(1, kv.key).fork(2);
    writeAnyValue(w, kv.value);
    w.join().join();
  }
}

function writeAnyValue(w: ProtoWriter, v: AnyValue): void {
  // Oneof members are written even when they hold the default value, or the type would be lost.
  if ('stringValue' in v) w.stringAlways(1, v.stringValue);
  else if ('boolValue' in v) w.uintAlways(2, v.boolValue ? 1 : 0);
  else if ('intValue' in v) w.int64Always(3, v.intValue);
  else if ('doubleValue' in v) w.double(4, v.doubleValue);
  else if ('arrayValue' in v) {
    w.fork(5);
    for (const item of v.arrayValue) {
      w.fork(1);
      writeAnyValue(w, item);
      w.join();
    }
    w.join();
  } else if ('kvlistValue' in v) {
    w.fork(6);
    writeAttributes(w, 1, v.kvlistValue);
    w.join();
  } else if ('bytesValue' in v) w.bytesAlways(7, v.bytesValue);
}
