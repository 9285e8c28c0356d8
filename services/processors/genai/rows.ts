// Maps decoded OTLP spans to rows of telemetry.spans_raw, their events nested in the row, and log
// records to telemetry.logs_raw, or to events_raw when they are GenAI events (gen_ai.* event names:
// prompts, choices, inference details): GenAI columns, cost and content policy applied. Shared by
// the consumer and the direct path, so both write exactly the same rows.
import { type KeyValue, type LogRecord, type LogsData, type Resource, type Span, type TracesData, eventNameOf } from '../../otlp/model.js';
import { type TenancyDefaults, anyValueToString, attributeTypes, attributesToMap, resolveTenancy } from '../../otlp/attributes.js';
import { type ContentOutcome, type ContentPolicy, applyContentPolicy } from './content.js';
import { type GenAiFields, LLM_OPERATIONS, NORMALIZER_VERSION, genAiFields } from './genai.js';
import { type CostSource, PriceTable } from './pricing.js';
import type { GenAiConfig } from './config.js';

/** One row of telemetry.spans_raw as the normalizer produces it (row-format.ts encodes it for the INSERT). */
export interface SpanRow extends Omit<GenAiFields, 'reported_cost_usd' | 'request_model'> {
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
  /** Unix nanoseconds; written to ClickHouse as an exact integer (clickhouse/row-format.ts). */
  start_ts: bigint;
  end_ts: bigint;
  duration_ms: number;
  resource_attributes: Record<string, string>;
  attributes: Record<string, string>;
  scope_name: string;
  scope_version: string;
  events_count: number;
  links_count: number;
  /** The OTLP fields spans_raw keeps so that a span reads back as it arrived (migration 0007). */
  trace_flags: number;
  dropped_attributes_count: number;
  dropped_events_count: number;
  dropped_links_count: number;
  attribute_types: Record<string, string>;
  resource_attribute_types: Record<string, string>;
  resource_dropped_attributes_count: number;
  resource_schema_url: string;
  scope_attributes: Record<string, string>;
  scope_attribute_types: Record<string, string>;
  scope_dropped_attributes_count: number;
  scope_schema_url: string;
  events: NestedEvent[];
  links: NestedLink[];
  request_model: string;
  cost_usd: number;
  cost_source: CostSource;
  price_version: string;
  content_truncated: number;
  content_dropped: number;
  normalizer_version: number;
}

/** What an event reports of its own model call or tool; most events report nothing ('' and 0). */
export interface EventUsage {
  model: string;
  tool_name: string;
  tokens_prompt: number;
  tokens_completion: number;
  tokens_total: number;
  cost_usd: number;
}

/** A span event as spans_raw nests it (events.*), attributes under the content policy. */
export interface NestedEvent extends EventUsage {
  time: bigint;
  name: string;
  attributes: Record<string, string>;
  attribute_types: Record<string, string>;
  dropped_attributes_count: number;
}

/** A span link as spans_raw nests it (links.*). */
export interface NestedLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: Record<string, string>;
  attribute_types: Record<string, string>;
  dropped_attributes_count: number;
  flags: number;
}

/** One row of telemetry.events_raw: a GenAI event received as a log record. */
export interface EventRow extends EventUsage {
  event_ts: bigint;
  event_type: string;
  tenant_id: string;
  env: string;
  service_name: string;
  trace_id: string;
  span_id: string;
  operation: string;
  payload_json: string;
  normalizer_version: number;
}

/** One row of telemetry.logs_raw: a log record that is not a GenAI event. */
export interface LogRow {
  tenant_id: string;
  env: string;
  service_name: string;
  /** Unix nanoseconds: the record's time, else its observed time, else when it was normalized. */
  timestamp: bigint;
  observed_timestamp: bigint;
  severity_number: number;
  severity_text: string;
  /** The body as text (arrays and maps as JSON); body_type says what it was, as *_attribute_types do ('' for a string). */
  body: string;
  body_type: string;
  event_name: string;
  trace_id: string;
  span_id: string;
  trace_flags: number;
  attributes: Record<string, string>;
  attribute_types: Record<string, string>;
  dropped_attributes_count: number;
  resource_attributes: Record<string, string>;
  resource_attribute_types: Record<string, string>;
  resource_schema_url: string;
  scope_name: string;
  scope_version: string;
  scope_attributes: Record<string, string>;
  scope_schema_url: string;
  content_truncated: number;
  content_dropped: number;
  normalizer_version: number;
}

export interface NormalizedRows {
  spans: SpanRow[];
  events: EventRow[];
  logs: LogRow[];
}

export interface NormalizerOptions extends GenAiConfig {
  /** For resources that name no tenant or env: the attributes processor's defaults. */
  tenancy: TenancyDefaults;
}

const SPAN_KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

function exceptionType(span: Span): string {
  for (const e of span.events) {
    if (e.name !== 'exception') continue;
    for (const kv of e.attributes) if (kv.key === 'exception.type' && 'stringValue' in kv.value) return kv.value.stringValue;
  }
  return '';
}

const NS_PER_DAY = 86_400_000_000_000n;
let lastDay = -1n;
let lastDayText = '1970-01-01';

/** YYYY-MM-DD (UTC) of a nanosecond timestamp, for the price in force that day; spans of one batch share a day. */
function dayOf(nanos: bigint): string {
  const day = nanos / NS_PER_DAY;
  if (day !== lastDay) {
    const ms = Number(day) * 86_400_000;
    lastDayText = ms < 8.64e15 ? new Date(ms).toISOString().slice(0, 10) : '1970-01-01';
    lastDay = day;
  }
  return lastDayText;
}

/** Keys an event payload needs for its own usage columns; most events carry none. */
const EVENT_USAGE_KEY = /^(gen_ai\.|llm\.|ai\.|tokens\.|cost\.|model$|tool_name$)/;
const NO_USAGE: EventUsage = { model: '', tool_name: '', tokens_prompt: 0, tokens_completion: 0, tokens_total: 0, cost_usd: 0 };

function eventUsage(payload: Record<string, string>): EventUsage {
  if (!Object.keys(payload).some((k) => EVENT_USAGE_KEY.test(k))) return NO_USAGE;
  const u = genAiFields(payload, 0, '');
  return { model: u.model, tool_name: u.tool_name, tokens_prompt: u.tokens_prompt, tokens_completion: u.tokens_completion, tokens_total: u.tokens_total, cost_usd: u.reported_cost_usd ?? 0 };
}

/** The largest instant DateTime64(9) holds (2262-04-11); later timestamps are clamped to it. */
const MAX_TIMESTAMP_NS = 2n ** 63n - 1n;

/**
 * Start and end as stored: an unset start (0) takes the end, or the time the span was normalized;
 * an end before the start takes the start; nothing beyond DateTime64(9)'s range.
 */
function spanTimes(span: Span, nowNs: bigint): [bigint, bigint] {
  let start = span.startTimeUnixNano || span.endTimeUnixNano || nowNs;
  if (start > MAX_TIMESTAMP_NS) start = MAX_TIMESTAMP_NS;
  let end = span.endTimeUnixNano < start ? start : span.endTimeUnixNano;
  if (end > MAX_TIMESTAMP_NS) end = MAX_TIMESTAMP_NS;
  return [start, end];
}

const NO_COST = { cost_usd: 0, cost_source: '' as const, price_version: '' };

/** What every row of one resource shares. */
interface ResourceContext {
  tenant: string;
  env: string;
  serviceName: string;
  attributes: Record<string, string>;
  types: Record<string, string>;
  policy: ContentPolicy;
}

/** Keys a GenAI event's body adds to its payload when it is a map (role, content, ...); anything else is `body`. */
function eventPayload(record: LogRecord): Record<string, string> {
  const payload = attributesToMap(record.attributes.filter((kv) => kv.key !== 'event.name'));
  const body = record.body;
  if ('kvlistValue' in body) {
    for (const kv of body.kvlistValue) if (!(kv.key in payload)) payload[kv.key] = anyValueToString(kv.value);
  } else if (Object.keys(body).length > 0) payload.body ??= anyValueToString(body);
  return payload;
}

function bodyType(record: LogRecord, text: string): string {
  const body: KeyValue = { key: 'body', value: record.body };
  return attributeTypes([body], { body: text }).body ?? '';
}

export class Normalizer {
  readonly version = NORMALIZER_VERSION;

  private readonly prices: PriceTable;
  private readonly noContent: Set<string>;

  constructor(private readonly opts: NormalizerOptions) {
    this.prices = new PriceTable(opts.prices);
    this.noContent = new Set(opts.noContentTenants);
  }

  private resourceContext(resource: Resource): ResourceContext {
    const attributes = attributesToMap(resource.attributes);
    const { tenant, env } = resolveTenancy(resource.attributes, this.opts.tenancy);
    return {
      tenant,
      env,
      serviceName: attributes['service.name'] ?? 'unknown_service',
      attributes,
      types: attributeTypes(resource.attributes, attributes),
      policy: { maxBytes: this.opts.contentMaxBytes, capture: !this.noContent.has(tenant) },
    };
  }

  normalize(data: TracesData): NormalizedRows {
    const spans: SpanRow[] = [];
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    for (const rs of data.resourceSpans) {
      const { tenant, env, serviceName, attributes: resourceAttributes, types: resourceTypes, policy } = this.resourceContext(rs.resource);
      for (const ss of rs.scopeSpans) {
        const scopeAttributes = attributesToMap(ss.scope.attributes);
        const scopeTypes = attributeTypes(ss.scope.attributes, scopeAttributes);
        for (const span of ss.spans) {
          const attributes = attributesToMap(span.attributes);
          const genai = genAiFields(attributes, span.status.code, exceptionType(span), span.name);
          const outcome: ContentOutcome = { truncated: false, dropped: false };
          applyContentPolicy(attributes, policy, outcome);
          const isLlm = LLM_OPERATIONS.has(genai.gen_ai_operation);
          const [start, end] = spanTimes(span, nowNs);
          const cost = isLlm || genai.reported_cost_usd !== null ? this.prices.cost(genai.model, genai.provider, dayOf(start), genai, genai.reported_cost_usd) : NO_COST;
          // Spelled out rather than spread: one object shape for every row keeps this loop fast.
          const row: SpanRow = {
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
            start_ts: start,
            end_ts: end,
            duration_ms: Number(end - start) / 1e6,
            resource_attributes: resourceAttributes,
            attributes,
            scope_name: ss.scope.name,
            scope_version: ss.scope.version,
            events_count: span.events.length,
            links_count: span.links.length,
            trace_flags: span.flags,
            dropped_attributes_count: span.droppedAttributesCount,
            dropped_events_count: span.droppedEventsCount,
            dropped_links_count: span.droppedLinksCount,
            attribute_types: attributeTypes(span.attributes, attributes),
            resource_attribute_types: resourceTypes,
            resource_dropped_attributes_count: rs.resource.droppedAttributesCount,
            resource_schema_url: rs.schemaUrl,
            scope_attributes: scopeAttributes,
            scope_attribute_types: scopeTypes,
            scope_dropped_attributes_count: ss.scope.droppedAttributesCount,
            scope_schema_url: ss.schemaUrl,
            events: [],
            links: span.links.map((l) => {
              const linkAttributes = attributesToMap(l.attributes);
              return { trace_id: l.traceId, span_id: l.spanId, trace_state: l.traceState, attributes: linkAttributes, attribute_types: attributeTypes(l.attributes, linkAttributes), dropped_attributes_count: l.droppedAttributesCount, flags: l.flags };
            }),
            gen_ai_operation: genai.gen_ai_operation,
            agent_name: genai.agent_name,
            provider: genai.provider,
            model: genai.model,
            request_model: genai.request_model,
            tool_name: genai.tool_name,
            tokens_prompt: genai.tokens_prompt,
            tokens_completion: genai.tokens_completion,
            tokens_cache_read: genai.tokens_cache_read,
            tokens_cache_write: genai.tokens_cache_write,
            tokens_reasoning: genai.tokens_reasoning,
            tokens_total: genai.tokens_total,
            user_id: genai.user_id,
            session_id: genai.session_id,
            workflow_id: genai.workflow_id,
            error_type: genai.error_type,
            cost_usd: cost.cost_usd,
            cost_source: cost.cost_source,
            price_version: cost.price_version,
            content_truncated: 0,
            content_dropped: 0,
            normalizer_version: NORMALIZER_VERSION,
          };
          for (const event of span.events) {
            const payload = attributesToMap(event.attributes);
            applyContentPolicy(payload, policy, outcome, event.name);
            row.events.push({
              time: event.timeUnixNano === 0n || event.timeUnixNano > MAX_TIMESTAMP_NS ? start : event.timeUnixNano,
              name: event.name,
              attributes: payload,
              attribute_types: attributeTypes(event.attributes, payload),
              dropped_attributes_count: event.droppedAttributesCount,
              ...eventUsage(payload),
            });
          }
          row.content_truncated = outcome.truncated ? 1 : 0;
          row.content_dropped = outcome.dropped ? 1 : 0;
          spans.push(row);
        }
      }
    }
    return { spans, events: [], logs: [] };
  }

  /** Log records to logs_raw rows, and GenAI events among them to events_raw rows. */
  normalizeLogs(data: LogsData): NormalizedRows {
    const events: EventRow[] = [];
    const logs: LogRow[] = [];
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    for (const rl of data.resourceLogs) {
      const resource = this.resourceContext(rl.resource);
      for (const sl of rl.scopeLogs) {
        let scopeAttributes: Record<string, string> | undefined;
        for (const record of sl.logRecords) {
          let timestamp = record.timeUnixNano || record.observedTimeUnixNano || nowNs;
          if (timestamp > MAX_TIMESTAMP_NS) timestamp = MAX_TIMESTAMP_NS;
          const eventName = eventNameOf(record);
          const outcome: ContentOutcome = { truncated: false, dropped: false };
          if (eventName.startsWith('gen_ai.')) {
            events.push(this.genAiEvent(record, eventName, timestamp, resource, outcome));
            continue;
          }
          const attributes = attributesToMap(record.attributes);
          applyContentPolicy(attributes, resource.policy, outcome, eventName);
          const body = anyValueToString(record.body);
          scopeAttributes ??= attributesToMap(sl.scope.attributes);
          logs.push({
            tenant_id: resource.tenant,
            env: resource.env,
            service_name: resource.serviceName,
            timestamp,
            observed_timestamp: record.observedTimeUnixNano > MAX_TIMESTAMP_NS ? MAX_TIMESTAMP_NS : record.observedTimeUnixNano,
            severity_number: record.severityNumber,
            severity_text: record.severityText,
            body,
            body_type: bodyType(record, body),
            event_name: eventName,
            trace_id: record.traceId,
            span_id: record.spanId,
            trace_flags: record.flags,
            attributes,
            attribute_types: attributeTypes(record.attributes, attributes),
            dropped_attributes_count: record.droppedAttributesCount,
            resource_attributes: resource.attributes,
            resource_attribute_types: resource.types,
            resource_schema_url: rl.schemaUrl,
            scope_name: sl.scope.name,
            scope_version: sl.scope.version,
            scope_attributes: scopeAttributes,
            scope_schema_url: sl.schemaUrl,
            content_truncated: outcome.truncated ? 1 : 0,
            content_dropped: outcome.dropped ? 1 : 0,
            normalizer_version: NORMALIZER_VERSION,
          });
        }
      }
    }
    return { spans: [], events, logs };
  }

  /** A GenAI event record as an events_raw row: its attributes and body as the payload, under the content policy. */
  private genAiEvent(record: LogRecord, eventName: string, timestamp: bigint, resource: ResourceContext, outcome: ContentOutcome): EventRow {
    const payload = eventPayload(record);
    applyContentPolicy(payload, resource.policy, outcome, eventName);
    return {
      event_ts: timestamp,
      event_type: eventName,
      tenant_id: resource.tenant,
      env: resource.env,
      service_name: resource.serviceName,
      trace_id: record.traceId,
      span_id: record.spanId,
      operation: '',
      payload_json: JSON.stringify(payload),
      ...eventUsage(payload),
      normalizer_version: NORMALIZER_VERSION,
    };
  }
}

/** Concatenates the rows of several messages or requests into one batch. */
export function mergeRows(items: NormalizedRows[]): NormalizedRows {
  if (items.length === 1) return items[0]!;
  return { spans: items.flatMap((i) => i.spans), events: items.flatMap((i) => i.events), logs: items.flatMap((i) => i.logs) };
}

/**
 * Batch weight of some rows: what batch size limits count. A span weighs one plus its events,
 * which it carries nested: the limit bounds a batch's bytes as much as its rows.
 */
export function rowCount(rows: NormalizedRows): number {
  let n = rows.events.length + rows.logs.length;
  for (const s of rows.spans) n += 1 + s.events.length;
  return n;
}
