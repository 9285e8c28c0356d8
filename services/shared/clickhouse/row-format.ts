// Insert bodies for spans_raw and events_raw in JSONCompactEachRow (one JSON array per row, columns
// named once in the INSERT), written field by field. Hand-written because timestamps must go out as
// exact integer nanoseconds: ClickHouse reads a JSON number into DateTime64(9) as ticks, while a
// string is parsed "best effort" (a 10-digit string is taken as seconds, an 18-digit one rejected),
// and JSON.stringify cannot print a bigint. Measured against JSONEachRow on 10k-row batches of the
// bench's agent spans: 54% of the bytes, ~2.5x faster to write, ~25-30% less engine parse time.
import type { EventRow, SpanRow } from '../normalize/rows.js';

const q = JSON.stringify;

/** A resource's attribute map is one object shared by all its spans' rows: serialized once. */
const resourceText = new WeakMap<Record<string, string>, string>();
function resourceAttributesText(m: Record<string, string>): string {
  let text = resourceText.get(m);
  if (text === undefined) resourceText.set(m, (text = q(m)));
  return text;
}

export interface InsertBody {
  columns: readonly string[];
  format: 'JSONCompactEachRow';
  body: Buffer;
}

export const SPAN_COLUMNS = [
  'tenant_id', 'env', 'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'service_name', 'operation', 'span_kind', 'status_code',
  'status_message', 'start_ts', 'end_ts', 'duration_ms', 'resource_attributes', 'attributes', 'scope_name', 'scope_version', 'events_count',
  'links_count', 'gen_ai_operation', 'agent_name', 'provider', 'model', 'request_model', 'tool_name', 'tokens_prompt', 'tokens_completion',
  'tokens_cache_read', 'tokens_cache_write', 'tokens_reasoning', 'tokens_total', 'cost_usd', 'cost_source', 'price_version', 'user_id',
  'session_id', 'workflow_id', 'error_type', 'content_truncated', 'content_dropped', 'normalizer_version',
] as const;

export const EVENT_COLUMNS = [
  'event_ts', 'event_type', 'tenant_id', 'env', 'service_name', 'trace_id', 'span_id', 'operation', 'payload_json', 'model', 'tool_name',
  'tokens_prompt', 'tokens_completion', 'tokens_total', 'cost_usd', 'normalizer_version',
] as const;

/** One row's text, in SPAN_COLUMNS order. Ids and enum-like columns are known to need no escaping. */
export function spanRowText(r: SpanRow): string {
  return (
    `[${q(r.tenant_id)},${q(r.env)},"${r.trace_id}","${r.span_id}","${r.parent_span_id}",${q(r.trace_state)},${q(r.service_name)},` +
    `${q(r.operation)},"${r.span_kind}","${r.status_code}",${q(r.status_message)},${r.start_ts},${r.end_ts},${r.duration_ms},` +
    `${resourceAttributesText(r.resource_attributes)},${q(r.attributes)},${q(r.scope_name)},${q(r.scope_version)},${r.events_count},${r.links_count},` +
    `${q(r.gen_ai_operation)},${q(r.agent_name)},${q(r.provider)},${q(r.model)},${q(r.request_model)},${q(r.tool_name)},` +
    `${r.tokens_prompt},${r.tokens_completion},${r.tokens_cache_read},${r.tokens_cache_write},${r.tokens_reasoning},${r.tokens_total},` +
    `${r.cost_usd.toFixed(10)},"${r.cost_source}","${r.price_version}",${q(r.user_id)},${q(r.session_id)},${q(r.workflow_id)},` +
    `${q(r.error_type)},${r.content_truncated},${r.content_dropped},${r.normalizer_version}]\n`
  );
}

export function eventRowText(r: EventRow): string {
  return (
    `[${r.event_ts},${q(r.event_type)},${q(r.tenant_id)},${q(r.env)},${q(r.service_name)},"${r.trace_id}","${r.span_id}",${q(r.operation)},` +
    `${q(r.payload_json)},${q(r.model)},${q(r.tool_name)},${r.tokens_prompt},${r.tokens_completion},${r.tokens_total},` +
    `${r.cost_usd.toFixed(10)},${r.normalizer_version}]\n`
  );
}

/** Rows to one insert body. Rows are joined in chunks: one giant concatenated string is slow to flatten into bytes. */
function body<T>(rows: readonly T[], text: (row: T) => string): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; i < rows.length; i += 256) {
    let s = '';
    for (let j = i; j < Math.min(rows.length, i + 256); j++) s += text(rows[j]!);
    chunks.push(Buffer.from(s));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export function spanRowsBody(rows: readonly SpanRow[]): InsertBody {
  return { columns: SPAN_COLUMNS, format: 'JSONCompactEachRow', body: body(rows, spanRowText) };
}

export function eventRowsBody(rows: readonly EventRow[]): InsertBody {
  return { columns: EVENT_COLUMNS, format: 'JSONCompactEachRow', body: body(rows, eventRowText) };
}
