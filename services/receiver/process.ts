// Processing stage: the attributes processor stamps tenant_id and env on every resource (from
// tenant.id / deployment.environment, or the configured defaults), and spans are grouped per
// trace so each trace becomes one Kafka message keyed by its id.
import type { IngestLimits } from '../shared/config.js';
import { type AnyValue, type DecodedTraces, type KeyValue, type Resource, type ResourceSpans, type ScopeSpans, type Span, type TracesData, validateTraces } from '../shared/otlp/model.js';
import { ENV_KEY, TENANT_KEY, resolveTenancy, type TenancyDefaults } from '../shared/normalize/attributes.js';

/** `authenticatedTenant` (from the API key) overrides whatever tenant the resource claims. */
export function stampTenancy(data: TracesData, defaults: TenancyDefaults, authenticatedTenant?: string): void {
  for (const rs of data.resourceSpans) stampResource(rs.resource, defaults, authenticatedTenant);
}

export function stampResource(resource: Resource, defaults: TenancyDefaults, authenticatedTenant?: string): void {
  const resolved = resolveTenancy(resource.attributes, defaults);
  const tenant = authenticatedTenant ?? resolved.tenant;
  const attrs = resource.attributes.filter((kv) => kv.key !== TENANT_KEY && kv.key !== ENV_KEY);
  attrs.push({ key: TENANT_KEY, value: { stringValue: tenant } }, { key: ENV_KEY, value: { stringValue: resolved.env } });
  resource.attributes = attrs;
}

/** Splits a request into one TracesData per trace id, keeping each span under its own resource and scope. */
export function splitByTrace(data: TracesData): Map<string, TracesData> {
  const traces = new Map<string, TracesData>();
  for (const rs of data.resourceSpans) {
    // Per request resource/scope, the copy already made for a given trace.
    const rsCopies = new Map<string, ResourceSpans>();
    for (const ss of rs.scopeSpans) {
      const ssCopies = new Map<string, ScopeSpans>();
      for (const span of ss.spans) {
        let ssCopy = ssCopies.get(span.traceId);
        if (ssCopy === undefined) {
          let rsCopy = rsCopies.get(span.traceId);
          if (rsCopy === undefined) {
            rsCopy = { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl };
            rsCopies.set(span.traceId, rsCopy);
            let trace = traces.get(span.traceId);
            if (trace === undefined) traces.set(span.traceId, (trace = { resourceSpans: [] }));
            trace.resourceSpans.push(rsCopy);
          }
          ssCopy = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
          rsCopy.scopeSpans.push(ssCopy);
          ssCopies.set(span.traceId, ssCopy);
        }
        ssCopy.spans.push(span);
      }
    }
  }
  return traces;
}

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
