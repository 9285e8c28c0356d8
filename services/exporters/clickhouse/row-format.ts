// Insert bodies for spans_raw, events_raw and logs_raw in RowBinary (row-binary.ts), columns named once in the
// INSERT. Measured against the JSONCompactEachRow bodies they replace, on 10k-row batches of the
// bench's agent spans: 13% fewer bytes, faster to write, and about half the engine's parse time.
import type { EventRow, LogRow, SpanRow } from '../../processors/genai/rows.js';
import type { RawInsert } from '../../shared/clickhouse/client.js';
import { RowBinaryWriter } from './row-binary.js';

/** What an insert body carries; the table and statement settings are the sink's. */
export type InsertBody = Pick<RawInsert, 'columns' | 'format' | 'body'>;

export const SPAN_COLUMNS = [
  'tenant_id', 'env', 'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'service_name', 'operation', 'span_kind', 'status_code',
  'status_message', 'start_ts', 'end_ts', 'duration_ms', 'resource_attributes', 'attributes', 'scope_name', 'scope_version', 'events_count',
  'links_count', 'gen_ai_operation', 'agent_name', 'provider', 'model', 'request_model', 'tool_name', 'tokens_prompt', 'tokens_completion',
  'tokens_cache_read', 'tokens_cache_write', 'tokens_reasoning', 'tokens_total', 'cost_usd', 'cost_source', 'price_version', 'user_id',
  'session_id', 'workflow_id', 'error_type', 'content_truncated', 'content_dropped', 'normalizer_version',
  'trace_flags', 'dropped_attributes_count', 'dropped_events_count', 'dropped_links_count', 'attribute_types', 'resource_attribute_types',
  'resource_dropped_attributes_count', 'resource_schema_url', 'scope_attributes', 'scope_attribute_types', 'scope_dropped_attributes_count',
  'scope_schema_url', 'events.time', 'events.name', 'events.attributes', 'events.attribute_types', 'events.dropped_attributes_count',
  'links.trace_id', 'links.span_id', 'links.trace_state', 'links.attributes', 'links.attribute_types', 'links.dropped_attributes_count', 'links.flags',
] as const;

export const EVENT_COLUMNS = [
  'event_ts', 'event_type', 'tenant_id', 'env', 'service_name', 'trace_id', 'span_id', 'operation', 'payload_json', 'model', 'tool_name',
  'tokens_prompt', 'tokens_completion', 'tokens_total', 'cost_usd', 'normalizer_version',
] as const;

export const LOG_COLUMNS = [
  'tenant_id', 'env', 'service_name', 'timestamp', 'observed_timestamp', 'severity_number', 'severity_text', 'body', 'body_type', 'event_name',
  'trace_id', 'span_id', 'trace_flags', 'attributes', 'attribute_types', 'dropped_attributes_count', 'resource_attributes',
  'resource_attribute_types', 'resource_schema_url', 'scope_name', 'scope_version', 'scope_attributes', 'scope_schema_url',
  'content_truncated', 'content_dropped', 'normalizer_version',
] as const;

/** A resource's attribute map is one object shared by all its spans' rows: encoded once. */
const resourceBytes = new WeakMap<Record<string, string>, Buffer>();
function resourceAttributesBytes(m: Record<string, string>): Buffer {
  let bytes = resourceBytes.get(m);
  if (bytes === undefined) {
    const w = new RowBinaryWriter(256);
    w.stringMap(m);
    resourceBytes.set(m, (bytes = Buffer.from(w.bytes())));
  }
  return bytes;
}

/** One row, in SPAN_COLUMNS order. */
function writeSpanRow(w: RowBinaryWriter, r: SpanRow): void {
  w.string(r.tenant_id);
  w.string(r.env);
  w.string(r.trace_id);
  w.string(r.span_id);
  w.string(r.parent_span_id);
  w.string(r.trace_state);
  w.string(r.service_name);
  w.string(r.operation);
  w.string(r.span_kind);
  w.string(r.status_code);
  w.string(r.status_message);
  w.int64(r.start_ts);
  w.int64(r.end_ts);
  w.float64(r.duration_ms);
  w.raw(resourceAttributesBytes(r.resource_attributes));
  w.stringMap(r.attributes);
  w.string(r.scope_name);
  w.string(r.scope_version);
  w.uint32(r.events_count);
  w.uint32(r.links_count);
  w.string(r.gen_ai_operation);
  w.string(r.agent_name);
  w.string(r.provider);
  w.string(r.model);
  w.string(r.request_model);
  w.string(r.tool_name);
  w.uint64(r.tokens_prompt);
  w.uint64(r.tokens_completion);
  w.uint64(r.tokens_cache_read);
  w.uint64(r.tokens_cache_write);
  w.uint64(r.tokens_reasoning);
  w.uint64(r.tokens_total);
  w.decimal18x10(r.cost_usd, 'cost_usd');
  w.string(r.cost_source);
  w.string(r.price_version);
  w.string(r.user_id);
  w.string(r.session_id);
  w.string(r.workflow_id);
  w.string(r.error_type);
  w.uint8(r.content_truncated);
  w.uint8(r.content_dropped);
  w.uint16(r.normalizer_version);
  w.uint32(r.trace_flags);
  w.uint32(r.dropped_attributes_count);
  w.uint32(r.dropped_events_count);
  w.uint32(r.dropped_links_count);
  w.stringMap(r.attribute_types);
  w.stringMap(r.resource_attribute_types);
  w.uint32(r.resource_dropped_attributes_count);
  w.string(r.resource_schema_url);
  w.stringMap(r.scope_attributes);
  w.stringMap(r.scope_attribute_types);
  w.uint32(r.scope_dropped_attributes_count);
  w.string(r.scope_schema_url);
  // Nested columns are one array each, in the column list's order.
  const { events, links } = r;
  w.arrayLength(events.length);
  for (const e of events) w.int64(e.time);
  w.arrayLength(events.length);
  for (const e of events) w.string(e.name);
  w.arrayLength(events.length);
  for (const e of events) w.stringMap(e.attributes);
  w.arrayLength(events.length);
  for (const e of events) w.stringMap(e.attribute_types);
  w.arrayLength(events.length);
  for (const e of events) w.uint32(e.dropped_attributes_count);
  w.arrayLength(links.length);
  for (const l of links) w.string(l.trace_id);
  w.arrayLength(links.length);
  for (const l of links) w.string(l.span_id);
  w.arrayLength(links.length);
  for (const l of links) w.string(l.trace_state);
  w.arrayLength(links.length);
  for (const l of links) w.stringMap(l.attributes);
  w.arrayLength(links.length);
  for (const l of links) w.stringMap(l.attribute_types);
  w.arrayLength(links.length);
  for (const l of links) w.uint32(l.dropped_attributes_count);
  w.arrayLength(links.length);
  for (const l of links) w.uint32(l.flags);
}

/** One row, in EVENT_COLUMNS order. */
function writeEventRow(w: RowBinaryWriter, r: EventRow): void {
  w.int64(r.event_ts);
  w.string(r.event_type);
  w.string(r.tenant_id);
  w.string(r.env);
  w.string(r.service_name);
  w.string(r.trace_id);
  w.string(r.span_id);
  w.string(r.operation);
  w.string(r.payload_json);
  w.string(r.model);
  w.string(r.tool_name);
  w.uint64(r.tokens_prompt);
  w.uint64(r.tokens_completion);
  w.uint64(r.tokens_total);
  w.decimal18x10(r.cost_usd, 'cost_usd');
  w.uint16(r.normalizer_version);
}

/** One row, in LOG_COLUMNS order. */
function writeLogRow(w: RowBinaryWriter, r: LogRow): void {
  w.string(r.tenant_id);
  w.string(r.env);
  w.string(r.service_name);
  w.int64(r.timestamp);
  w.int64(r.observed_timestamp);
  w.uint8(r.severity_number);
  w.string(r.severity_text);
  w.string(r.body);
  w.string(r.body_type);
  w.string(r.event_name);
  w.string(r.trace_id);
  w.string(r.span_id);
  w.uint32(r.trace_flags);
  w.stringMap(r.attributes);
  w.stringMap(r.attribute_types);
  w.uint32(r.dropped_attributes_count);
  w.raw(resourceAttributesBytes(r.resource_attributes));
  w.stringMap(r.resource_attribute_types);
  w.string(r.resource_schema_url);
  w.string(r.scope_name);
  w.string(r.scope_version);
  w.stringMap(r.scope_attributes);
  w.string(r.scope_schema_url);
  w.uint8(r.content_truncated);
  w.uint8(r.content_dropped);
  w.uint16(r.normalizer_version);
}

// Typical encoded row sizes of the bench's agent spans, so a body is allocated about once.
const SPAN_ROW_BYTES = 640;
const EVENT_ROW_BYTES = 320;
const LOG_ROW_BYTES = 320;

export function spanRowsBody(rows: readonly SpanRow[]): InsertBody {
  const w = new RowBinaryWriter(rows.length * SPAN_ROW_BYTES);
  for (const r of rows) writeSpanRow(w, r);
  return { columns: SPAN_COLUMNS, format: 'RowBinary', body: w.bytes() };
}

export function eventRowsBody(rows: readonly EventRow[]): InsertBody {
  const w = new RowBinaryWriter(rows.length * EVENT_ROW_BYTES);
  for (const r of rows) writeEventRow(w, r);
  return { columns: EVENT_COLUMNS, format: 'RowBinary', body: w.bytes() };
}

export function logRowsBody(rows: readonly LogRow[]): InsertBody {
  const w = new RowBinaryWriter(rows.length * LOG_ROW_BYTES);
  for (const r of rows) writeLogRow(w, r);
  return { columns: LOG_COLUMNS, format: 'RowBinary', body: w.bytes() };
}
