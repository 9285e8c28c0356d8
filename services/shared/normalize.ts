// Maps decoded OTLP spans to rows of telemetry.spans_raw. Shared by the consumer and by the
// embedded direct path, so both write exactly the same rows.
import type { AnyValue, KeyValue, TracesData } from './otlp/model.js';

export interface TenancyDefaults {
  tenant: string;
  env: string;
}

/** One row of telemetry.spans_raw, in the JSONEachRow shape the insert sends. */
export interface SpanRow {
  tenant_id: string;
  env: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  service_name: string;
  operation: string;
  span_kind: string;
  status_code: string;
  status_message: string;
  /** Unix nanoseconds as a decimal string: DateTime64(9) reads it exactly. */
  start_ts: string;
  end_ts: string;
  duration_ms: number;
  resource_attributes: Record<string, string>;
  attributes: Record<string, string>;
  scope_name: string;
  scope_version: string;
  events_count: number;
  links_count: number;
}

const SPAN_KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

/** Resource keys the receiver stamps (attributes processor) and the consumer reads first. */
export const TENANT_KEY = 'tenant_id';
export const ENV_KEY = 'env';
const TENANT_SOURCES = [TENANT_KEY, 'tenant.id'];
const ENV_SOURCES = [ENV_KEY, 'deployment.environment.name', 'deployment.environment'];

function firstString(attrs: KeyValue[], keys: string[]): string {
  for (const key of keys) {
    for (const kv of attrs) {
      if (kv.key === key) {
        const s = anyValueToString(kv.value);
        if (s !== '') return s;
      }
    }
  }
  return '';
}

/** Tenant and environment of a resource: stamped keys first, then the OTel resource conventions, then defaults. */
export function resolveTenancy(resourceAttrs: KeyValue[], defaults: TenancyDefaults): TenancyDefaults {
  return {
    tenant: firstString(resourceAttrs, TENANT_SOURCES) || defaults.tenant,
    env: firstString(resourceAttrs, ENV_SOURCES) || defaults.env,
  };
}

export function anyValueToString(v: AnyValue): string {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue ? 'true' : 'false';
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('bytesValue' in v) return Buffer.from(v.bytesValue).toString('base64');
  if ('arrayValue' in v || 'kvlistValue' in v) return JSON.stringify(anyValueToPlain(v));
  return '';
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function anyValueToPlain(v: AnyValue): Plain {
  if ('arrayValue' in v) return v.arrayValue.map(anyValueToPlain);
  if ('kvlistValue' in v) {
    const out: { [k: string]: Plain } = {};
    for (const kv of v.kvlistValue) out[kv.key] = anyValueToPlain(kv.value);
    return out;
  }
  if ('boolValue' in v) return v.boolValue;
  if ('doubleValue' in v) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if ('intValue' in v) return typeof v.intValue === 'bigint' ? v.intValue.toString() : v.intValue;
  if ('stringValue' in v || 'bytesValue' in v) return anyValueToString(v);
  return null;
}

export function attributesToMap(attrs: KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attrs) out[kv.key] = anyValueToString(kv.value);
  return out;
}

export function spanRows(data: TracesData, defaults: TenancyDefaults): SpanRow[] {
  const rows: SpanRow[] = [];
  for (const rs of data.resourceSpans) {
    const resourceAttributes = attributesToMap(rs.resource.attributes);
    const { tenant, env } = resolveTenancy(rs.resource.attributes, defaults);
    const serviceName = resourceAttributes['service.name'] ?? 'unknown_service';
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const durationNs = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
        rows.push({
          tenant_id: tenant,
          env,
          trace_id: span.traceId,
          span_id: span.spanId,
          parent_span_id: span.parentSpanId,
          trace_state: span.traceState,
          service_name: serviceName,
          operation: span.name,
          span_kind: SPAN_KIND_NAMES[span.kind] ?? 'UNSPECIFIED',
          status_code: STATUS_NAMES[span.status.code] ?? 'UNSET',
          status_message: span.status.message,
          start_ts: span.startTimeUnixNano.toString(),
          end_ts: span.endTimeUnixNano.toString(),
          duration_ms: Number(durationNs) / 1e6,
          resource_attributes: resourceAttributes,
          attributes: attributesToMap(span.attributes),
          scope_name: ss.scope.name,
          scope_version: ss.scope.version,
          events_count: span.events.length,
          links_count: span.links.length,
        });
      }
    }
  }
  return rows;
}
