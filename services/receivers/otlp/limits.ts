// The otlp receiver's ingest limits (receivers.otlp.limits): spans and log records outside the
// accepted time window are rejected through partial success; attributes and events over the limits
// are dropped and counted; long values (log bodies too) are cut with a marker.
import type { IngestLimits } from './config.js';
import { type AnyValue, type DecodedLogs, type DecodedTraces, type KeyValue, type LogRecord, type Resource, type Span, validateLogs, validateTraces } from '../../otlp/model.js';

const TRUNCATED = '…[truncated]';

function capValue(v: AnyValue, maxBytes: number): AnyValue {
  if ('stringValue' in v && v.stringValue.length * 3 > maxBytes && Buffer.byteLength(v.stringValue) > maxBytes) {
    const bytes = Buffer.from(v.stringValue);
    let cut = maxBytes;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    return { stringValue: bytes.toString('utf8', 0, cut) + TRUNCATED };
  }
  if ('bytesValue' in v && v.bytesValue.length > maxBytes) return { bytesValue: v.bytesValue.subarray(0, maxBytes) };
  return v;
}

/** At most `max` attributes, each value at most maxBytes: what is dropped is counted, as SDK limits do. */
function capAttributes(attrs: KeyValue[], max: number, maxBytes: number): { attrs: KeyValue[]; dropped: number } {
  const kept = attrs.length > max ? attrs.slice(0, max) : attrs;
  for (const kv of kept) kv.value = capValue(kv.value, maxBytes);
  return { attrs: kept, dropped: attrs.length - kept.length };
}

export function limitResource(resource: Resource, limits: IngestLimits): void {
  resource.attributes = capAttributes(resource.attributes, limits.maxAttributesPerSpan, limits.maxAttributeValueBytes).attrs;
}

/** Span start times (ns) accepted: not past the future skew, not before the retention window. */
export function acceptedStartWindow(limits: IngestLimits, retentionDays: number, nowMs: number): { earliest: bigint; latest: bigint } {
  return { latest: BigInt(nowMs + limits.maxFutureSkewMs) * 1_000_000n, earliest: BigInt(nowMs - retentionDays * 86_400_000) * 1_000_000n };
}

/**
 * Ingest limits. Spans starting too far in the future, or before the retention window (ClickHouse
 * would drop them at once through its TTL), are rejected through partial success; attributes and
 * events over the limits are dropped and counted; long values are cut with a marker.
 */
export function enforceLimits(decoded: DecodedTraces, limits: IngestLimits, retentionDays: number, nowMs = Date.now()): DecodedTraces {
  const { latest, earliest } = acceptedStartWindow(limits, retentionDays, nowMs);
  const reasonOf = (span: Span): string => {
    const start = span.startTimeUnixNano || span.endTimeUnixNano;
    if (start > latest) return `span ${span.spanId}: starts more than ${limits.maxFutureSkewMs} ms in the future`;
    if (start !== 0n && start < earliest) return `span ${span.spanId}: starts before the ${retentionDays}-day retention window`;
    const a = capAttributes(span.attributes, limits.maxAttributesPerSpan, limits.maxAttributeValueBytes);
    span.attributes = a.attrs;
    span.droppedAttributesCount += a.dropped;
    if (span.events.length > limits.maxEventsPerSpan) {
      span.droppedEventsCount += span.events.length - limits.maxEventsPerSpan;
      span.events = span.events.slice(0, limits.maxEventsPerSpan);
    }
    for (const e of span.events) e.attributes = capAttributes(e.attributes, limits.maxAttributesPerSpan, limits.maxAttributeValueBytes).attrs;
    return '';
  };
  for (const rs of decoded.data.resourceSpans) limitResource(rs.resource, limits);
  const checked = validateTraces(decoded.data, reasonOf);
  const rejected = decoded.rejectedSpans + checked.rejectedSpans;
  const reason = [decoded.rejectionReason, checked.rejectionReason].filter(Boolean).join('; ');
  return { data: checked.data, spanCount: checked.spanCount, rejectedSpans: rejected, rejectionReason: reason };
}

/** The same limits for log records: their time (else observed time) in the window, attributes and body capped. */
export function enforceLogLimits(decoded: DecodedLogs, limits: IngestLimits, retentionDays: number, nowMs = Date.now()): DecodedLogs {
  const { latest, earliest } = acceptedStartWindow(limits, retentionDays, nowMs);
  const reasonOf = (record: LogRecord): string => {
    const time = record.timeUnixNano || record.observedTimeUnixNano;
    if (time > latest) return `log record: its time is more than ${limits.maxFutureSkewMs} ms in the future`;
    if (time !== 0n && time < earliest) return `log record: its time is before the ${retentionDays}-day retention window`;
    const a = capAttributes(record.attributes, limits.maxAttributesPerSpan, limits.maxAttributeValueBytes);
    record.attributes = a.attrs;
    record.droppedAttributesCount += a.dropped;
    record.body = capValue(record.body, limits.maxAttributeValueBytes);
    return '';
  };
  for (const rl of decoded.data.resourceLogs) limitResource(rl.resource, limits);
  const checked = validateLogs(decoded.data, reasonOf);
  const reason = [decoded.rejectionReason, checked.rejectionReason].filter(Boolean).join('; ');
  return { data: checked.data, recordCount: checked.recordCount, rejectedRecords: decoded.rejectedRecords + checked.rejectedRecords, rejectionReason: reason };
}
