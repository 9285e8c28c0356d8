// JSONEachRow text for spans_raw and events_raw, written field by field. Hand-written because
// timestamps must go out as exact integer nanoseconds: ClickHouse reads a JSON number into
// DateTime64(9) as ticks, while a string is parsed "best effort" (a 10-digit string is taken as
// seconds, an 18-digit one rejected), and JSON.stringify cannot print a bigint. It is also several
// times faster than JSON.stringify on generic row objects.
import type { EventRow, SpanRow } from '../normalize/rows.js';

const q = JSON.stringify;

function map(m: Record<string, string>): string {
  return q(m);
}

export function spanRowsToJsonEachRow(rows: SpanRow[]): string {
  let out = '';
  for (const r of rows) {
    out +=
      `{"tenant_id":${q(r.tenant_id)},"env":${q(r.env)},"trace_id":"${r.trace_id}","span_id":"${r.span_id}","parent_span_id":"${r.parent_span_id}",` +
      `"trace_state":${q(r.trace_state)},"service_name":${q(r.service_name)},"operation":${q(r.operation)},"span_kind":"${r.span_kind}",` +
      `"status_code":"${r.status_code}","status_message":${q(r.status_message)},"start_ts":${r.start_ts},"end_ts":${r.end_ts},"duration_ms":${r.duration_ms},` +
      `"resource_attributes":${map(r.resource_attributes)},"attributes":${map(r.attributes)},"scope_name":${q(r.scope_name)},"scope_version":${q(r.scope_version)},` +
      `"events_count":${r.events_count},"links_count":${r.links_count},"gen_ai_operation":${q(r.gen_ai_operation)},"agent_name":${q(r.agent_name)},` +
      `"provider":${q(r.provider)},"model":${q(r.model)},"request_model":${q(r.request_model)},"tool_name":${q(r.tool_name)},` +
      `"tokens_prompt":${r.tokens_prompt},"tokens_completion":${r.tokens_completion},"tokens_cache_read":${r.tokens_cache_read},` +
      `"tokens_cache_write":${r.tokens_cache_write},"tokens_reasoning":${r.tokens_reasoning},"tokens_total":${r.tokens_total},` +
      `"cost_usd":${r.cost_usd.toFixed(10)},"cost_source":"${r.cost_source}","price_version":"${r.price_version}","user_id":${q(r.user_id)},` +
      `"session_id":${q(r.session_id)},"workflow_id":${q(r.workflow_id)},"error_type":${q(r.error_type)},` +
      `"content_truncated":${r.content_truncated},"content_dropped":${r.content_dropped},"normalizer_version":${r.normalizer_version}}\n`;
  }
  return out;
}

export function eventRowsToJsonEachRow(rows: EventRow[]): string {
  let out = '';
  for (const r of rows) {
    out +=
      `{"event_ts":${r.event_ts},"event_type":${q(r.event_type)},"tenant_id":${q(r.tenant_id)},"env":${q(r.env)},"service_name":${q(r.service_name)},` +
      `"trace_id":"${r.trace_id}","span_id":"${r.span_id}","operation":${q(r.operation)},"payload_json":${q(r.payload_json)},"model":${q(r.model)},` +
      `"tool_name":${q(r.tool_name)},"tokens_prompt":${r.tokens_prompt},"tokens_completion":${r.tokens_completion},"tokens_total":${r.tokens_total},` +
      `"cost_usd":${r.cost_usd.toFixed(10)},"normalizer_version":${r.normalizer_version}}\n`;
  }
  return out;
}
