// The Tracehouse dashboards, as data. `npm run grafana:generate` writes them to grafana/dashboards/;
// a test checks the committed JSON is exactly this output, and runs every query on the real engine.
// Rollups answer the overview questions; spans_raw is read only for drill-down (top workflows and
// agents, the trace view).

export const DATASOURCE = { type: 'grafana-clickhouse-datasource', uid: 'tracehouse-clickhouse' } as const;
export const PLUGIN_VERSION = '4.11.1';

/** Plugin target formats: 0 time series, 1 table, 2 logs, 3 trace. */
export type Format = 0 | 1 | 3;

export interface Target {
  refId: string;
  datasource: typeof DATASOURCE;
  editorType: 'sql';
  rawSql: string;
  format: Format;
  queryType: 'timeseries' | 'table' | 'traces';
  pluginVersion: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: typeof DATASOURCE;
  targets?: Target[];
  fieldConfig?: unknown;
  options?: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: 'utc';
  schemaVersion: number;
  editable: boolean;
  time: { from: string; to: string };
  refresh: string;
  templating: { list: unknown[] };
  panels: Panel[];
}

const T = 'tenant_id IN (${tenant:singlequote})';

const TENANT_VARIABLE = {
  type: 'query',
  name: 'tenant',
  label: 'Tenant',
  datasource: DATASOURCE,
  query: 'SELECT DISTINCT tenant_id FROM telemetry.ingest_watermark ORDER BY tenant_id',
  definition: 'SELECT DISTINCT tenant_id FROM telemetry.ingest_watermark ORDER BY tenant_id',
  refresh: 2,
  includeAll: true,
  multi: true,
  current: { selected: true, text: ['All'], value: ['$__all'] },
};

const TRACE_ID_VARIABLE = { type: 'textbox', name: 'trace_id', label: 'Trace id', query: '', current: { text: '', value: '' } };

/** Lays panels out left to right in rows of 24 grid units. */
class Layout {
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  private id = 1;

  place(w: number, h: number): { id: number; gridPos: Panel['gridPos'] } {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowHeight;
      this.rowHeight = 0;
    }
    const gridPos = { x: this.x, y: this.y, w, h };
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
    return { id: this.id++, gridPos };
  }
}

function target(rawSql: string, format: Format): Target {
  const queryType = format === 0 ? 'timeseries' : format === 3 ? 'traces' : 'table';
  return { refId: 'A', datasource: DATASOURCE, editorType: 'sql', rawSql, format, queryType, pluginVersion: PLUGIN_VERSION };
}

function builder(layout: Layout) {
  const panel = (type: string, title: string, sql: string, format: Format, w: number, h: number, unit?: string, extra: Partial<Panel> = {}): Panel => ({
    ...layout.place(w, h),
    type,
    title,
    datasource: DATASOURCE,
    targets: [target(sql, format)],
    fieldConfig: { defaults: unit ? { unit } : {}, overrides: [] },
    ...extra,
  });
  return {
    stat: (title: string, sql: string, unit?: string) => panel('stat', title, sql, 1, 6, 4, unit, { options: { reduceOptions: { calcs: ['lastNotNull'], fields: '' }, colorMode: 'value' } }),
    timeseries: (title: string, sql: string, unit?: string) => panel('timeseries', title, sql, 0, 12, 8, unit),
    table: (title: string, sql: string, extra: Partial<Panel> = {}) => panel('table', title, sql, 1, 24, 8, undefined, extra),
    traces: (title: string, sql: string) => panel('traces', title, sql, 3, 24, 14),
    text: (title: string, content: string): Panel => ({ ...layout.place(24, 3), type: 'text', title, options: { mode: 'markdown', content } }),
  };
}

function dashboard(uid: string, title: string, tags: string[], variables: unknown[], build: (b: ReturnType<typeof builder>) => Panel[]): Dashboard {
  return {
    uid,
    title,
    tags: ['tracehouse', ...tags],
    timezone: 'utc',
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    templating: { list: variables },
    panels: build(builder(new Layout())),
  };
}

/** Latency quantiles from a rollup's quantilesTiming(0.5, 0.9, 0.95, 0.99) state. */
const Q = 'quantilesTimingMerge(0.5, 0.9, 0.95, 0.99)(latency_ms)';

export const agentOverview = dashboard('tracehouse-agent-overview', 'Tracehouse / Agent overview', ['agents'], [TENANT_VARIABLE], (b) => [
  b.stat('Spans', `SELECT sum(calls) AS spans FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T}`, 'short'),
  b.stat('Error rate', `SELECT sum(errors) / greatest(sum(calls), 1) AS error_rate FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T}`, 'percentunit'),
  b.stat('Traces', `SELECT count() AS traces FROM (SELECT trace_id FROM telemetry.trace_index WHERE $__dateFilter(day) AND ${T} GROUP BY trace_id HAVING $__timeFilter(min(start_ts)))`, 'short'),
  b.stat('p95 latency', `SELECT arrayElement(${Q}, 3) AS p95_ms FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T}`, 'ms'),
  b.timeseries('Throughput by service', `SELECT $__timeInterval(minute) AS time, service_name, sum(calls) AS spans FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, service_name ORDER BY time`, 'short'),
  b.timeseries('Error rate by service', `SELECT $__timeInterval(minute) AS time, service_name, sum(errors) / greatest(sum(calls), 1) AS error_rate FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, service_name ORDER BY time`, 'percentunit'),
  b.timeseries('Latency p50 / p90 / p99 by service', `SELECT time, service_name, q[1] AS p50, q[2] AS p90, q[4] AS p99 FROM (SELECT $__timeInterval(minute) AS time, service_name, ${Q} AS q FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, service_name) ORDER BY time`, 'ms'),
  b.timeseries('Traces per minute', `SELECT $__timeInterval(s) AS time, count() AS traces FROM (SELECT trace_id, min(start_ts) AS s FROM telemetry.trace_index WHERE $__dateFilter(day) AND ${T} GROUP BY trace_id) WHERE $__timeFilter(s) GROUP BY time ORDER BY time`, 'short'),
  b.timeseries('Log records by severity', `SELECT $__timeInterval(minute) AS time, severity, sum(records) AS records FROM telemetry.logs_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, severity ORDER BY time`, 'short'),
  b.table('Operations', `SELECT service_name, operation, calls, errors, round(errors / greatest(calls, 1), 4) AS error_rate, round(q[1], 1) AS p50_ms, round(q[3], 1) AS p95_ms, round(q[4], 1) AS p99_ms FROM (SELECT service_name, operation, sum(calls) AS calls, sum(errors) AS errors, ${Q} AS q FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY service_name, operation) ORDER BY calls DESC LIMIT 100`),
]);

/**
 * Spans of traces whose root names a workflow or agent, joined to every priced span of the trace.
 * On a cluster a trace's spans share a shard (services/shared/clickhouse/cluster.ts), so the join
 * runs on each shard over its local rows; on one server the setting changes nothing.
 */
function costByTraceAttribute(column: 'workflow_id' | 'agent_name'): string {
  return `SELECT r.${column} AS ${column}, toFloat64(sum(s.cost_usd)) AS cost_usd, countIf(s.cost_source != '') AS llm_calls, uniqExact(s.trace_id) AS traces
FROM telemetry.spans_raw AS s
INNER JOIN (SELECT DISTINCT trace_id, ${column} FROM telemetry.spans_raw WHERE $__timeFilter(start_ts) AND ${T} AND ${column} != '') AS r ON s.trace_id = r.trace_id
WHERE $__timeFilter(s.start_ts) AND s.${T}
GROUP BY ${column} ORDER BY cost_usd DESC LIMIT 10
SETTINGS distributed_product_mode = 'local'`;
}

export const llmCost = dashboard('tracehouse-llm-cost', 'Tracehouse / LLM cost & tokens', ['llm', 'cost'], [TENANT_VARIABLE], (b) => [
  b.stat('Cost', `SELECT toFloat64(sum(cost_usd)) AS cost_usd FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T}`, 'currencyUSD'),
  b.stat('LLM calls', `SELECT sum(calls) AS calls FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T}`, 'short'),
  b.stat('Tokens', `SELECT sum(tokens_total) AS tokens FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T}`, 'short'),
  b.stat('Unpriced calls', `SELECT sum(unpriced_calls) AS unpriced_calls FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T}`, 'short'),
  b.timeseries('Cost per minute by model', `SELECT $__timeInterval(minute) AS time, model, toFloat64(sum(cost_usd)) AS cost_usd FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, model ORDER BY time`, 'currencyUSD'),
  b.timeseries('Cost per minute by provider', `SELECT $__timeInterval(minute) AS time, provider, toFloat64(sum(cost_usd)) AS cost_usd FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, provider ORDER BY time`, 'currencyUSD'),
  b.timeseries(
    'Tokens by kind',
    `SELECT $__timeInterval(minute) AS time, toInt64(sum(tokens_prompt)) - toInt64(sum(tokens_cache_read)) - toInt64(sum(tokens_cache_write)) AS input_uncached, sum(tokens_cache_read) AS cache_read, sum(tokens_cache_write) AS cache_write, toInt64(sum(tokens_completion)) - toInt64(sum(tokens_reasoning)) AS output, sum(tokens_reasoning) AS reasoning FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time ORDER BY time`,
    'short',
  ),
  b.timeseries('Calls per minute by model', `SELECT $__timeInterval(minute) AS time, model, sum(calls) AS calls FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, model ORDER BY time`, 'short'),
  b.table('Cost by tenant', `SELECT tenant_id, toFloat64(sum(cost_usd)) AS cost_usd, sum(calls) AS calls, sum(tokens_total) AS tokens FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY tenant_id ORDER BY cost_usd DESC`),
  b.table('Top workflows by cost', costByTraceAttribute('workflow_id')),
  b.table('Top agents by cost', costByTraceAttribute('agent_name')),
  b.table('Unpriced calls by model (add prices in processors.genai.prices)', `SELECT provider, model, sum(unpriced_calls) AS unpriced_calls, sum(tokens_total) AS tokens FROM telemetry.llm_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY provider, model HAVING unpriced_calls > 0 ORDER BY unpriced_calls DESC`),
]);

export const tools = dashboard('tracehouse-tools', 'Tracehouse / Tools', ['tools'], [TENANT_VARIABLE], (b) => [
  b.timeseries('Tool calls per minute', `SELECT $__timeInterval(minute) AS time, tool_name, sum(calls) AS calls FROM telemetry.tool_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, tool_name ORDER BY time`, 'short'),
  b.timeseries('Tool error rate', `SELECT $__timeInterval(minute) AS time, tool_name, sum(errors) / greatest(sum(calls), 1) AS error_rate FROM telemetry.tool_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, tool_name ORDER BY time`, 'percentunit'),
  b.timeseries('Tool latency p50 / p99', `SELECT time, tool_name, q[1] AS p50, q[4] AS p99 FROM (SELECT $__timeInterval(minute) AS time, tool_name, ${Q} AS q FROM telemetry.tool_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time, tool_name) ORDER BY time`, 'ms'),
  b.table('Tools', `SELECT tool_name, calls, errors, round(errors / greatest(calls, 1), 4) AS error_rate, round(q[1], 1) AS p50_ms, round(q[3], 1) AS p95_ms, round(q[4], 1) AS p99_ms FROM (SELECT tool_name, sum(calls) AS calls, sum(errors) AS errors, ${Q} AS q FROM telemetry.tool_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY tool_name) ORDER BY calls DESC`),
]);

const TRACE_LINK = {
  matcher: { id: 'byName', options: 'trace_id' },
  properties: [{ id: 'links', value: [{ title: 'Open trace', url: '/d/tracehouse-traces?var-trace_id=${__value.raw}&${__url_time_range}' }] }],
};

function traceList(having: string, order: string): string {
  return `SELECT trace_id, tenant_id, root_service, root_operation, start, duration_ms, spans, errors, cost_usd FROM (SELECT trace_id, tenant_id, max(root_service) AS root_service, max(root_operation) AS root_operation, min(start_ts) AS start, dateDiff('millisecond', min(start_ts), max(end_ts)) AS duration_ms, sum(span_count) AS spans, sum(error_count) AS errors, toFloat64(sum(cost_usd)) AS cost_usd FROM telemetry.trace_index WHERE $__dateFilter(day) AND ${T} GROUP BY trace_id, tenant_id HAVING $__timeFilter(start)${having}) ORDER BY ${order} LIMIT 20`;
}

export const traces = dashboard('tracehouse-traces', 'Tracehouse / Traces', ['traces'], [TENANT_VARIABLE, TRACE_ID_VARIABLE], (b) => [
  b.table('Slowest traces', traceList('', 'duration_ms DESC'), { fieldConfig: { defaults: {}, overrides: [TRACE_LINK] } }),
  b.table('Recent failed traces', traceList(' AND errors > 0', 'start DESC'), { fieldConfig: { defaults: {}, overrides: [TRACE_LINK] } }),
  b.traces(
    'Trace',
    `SELECT trace_id AS traceID, span_id AS spanID, parent_span_id AS parentSpanID, service_name AS serviceName, operation AS operationName,
  toUnixTimestamp64Milli(start_ts) AS startTime, duration_ms AS duration,
  arrayMap(k -> map('key', k, 'value', attributes[k]), mapKeys(attributes)) AS tags,
  arrayMap(k -> map('key', k, 'value', resource_attributes[k]), mapKeys(resource_attributes)) AS serviceTags,
  multiIf(status_code = 'ERROR', 2, status_code = 'OK', 1, 0) AS statusCode, status_message AS statusMessage, span_kind AS kind,
  arrayMap((t, s) -> map('traceID', t, 'spanID', s), links.trace_id, links.span_id) AS references,
  arrayMap((t, n, a) -> map('timestamp', toString(toUnixTimestamp64Milli(t)), 'name', n, 'fields', toJSONString(a)), events.time, events.name, events.attributes) AS logs
FROM telemetry.spans_raw
WHERE trace_id = \${trace_id:singlequote} AND ${T}
  AND start_ts >= (SELECT min(start_ts) FROM telemetry.trace_index WHERE trace_id = \${trace_id:singlequote})
  AND start_ts <= (SELECT max(end_ts) FROM telemetry.trace_index WHERE trace_id = \${trace_id:singlequote})
ORDER BY start_ts`,
  ),
  b.table(
    'Logs and GenAI events of this trace',
    `SELECT timestamp, kind, severity_text, service_name, span_id, message FROM (
  SELECT timestamp, 'log' AS kind, severity_text, service_name, span_id, body AS message FROM telemetry.logs_raw WHERE trace_id = \${trace_id:singlequote} AND ${T}
  UNION ALL
  SELECT event_ts AS timestamp, event_type AS kind, '' AS severity_text, service_name, span_id, payload_json AS message FROM telemetry.events_raw WHERE trace_id = \${trace_id:singlequote} AND ${T} AND operation = ''
) ORDER BY timestamp`,
  ),
]);

export const pipelineHealth = dashboard('tracehouse-pipeline', 'Tracehouse / Pipeline health', ['pipeline'], [TENANT_VARIABLE], (b) => [
  b.stat('Seconds since last ingest', `SELECT dateDiff('second', max(newest_ingested_at), now64(3)) AS seconds_since_ingest FROM telemetry.ingest_watermark WHERE ${T}`, 's'),
  b.stat('Data lag (newest span)', `SELECT dateDiff('second', max(newest_span_ts), now64(9)) AS data_lag_s FROM telemetry.ingest_watermark WHERE ${T}`, 's'),
  b.stat('Spans stored (all time)', `SELECT sum(spans) AS spans FROM telemetry.ingest_watermark WHERE ${T}`, 'short'),
  b.stat('Tenants', `SELECT count() AS tenants FROM (SELECT DISTINCT tenant_id FROM telemetry.ingest_watermark WHERE ${T})`, 'short'),
  b.timeseries('Spans per second in (by span time)', `SELECT $__timeInterval(minute) AS time, sum(calls) / greatest($__interval_s, 60) AS spans_per_s FROM telemetry.spans_minute WHERE $__timeFilter(minute) AND ${T} GROUP BY time ORDER BY time`, 'short'),
  b.table('Ingest freshness by tenant', `SELECT tenant_id, max(newest_ingested_at) AS last_ingest, dateDiff('second', max(newest_ingested_at), now64(3)) AS seconds_since_ingest, dateDiff('second', max(newest_span_ts), now64(9)) AS data_lag_s, sum(spans) AS spans FROM telemetry.ingest_watermark WHERE ${T} GROUP BY tenant_id ORDER BY tenant_id`),
  b.text('Dead letters and consumer lag', 'Dead-lettered messages (`tracehouse_consumer_dead_letter_total`), consumer lag per partition (`tracehouse_consumer_lag_messages`), insert retries and produce latency are Prometheus metrics on each service\'s `/metrics` endpoint; the per-tenant watermark is also `tracehouse_ingest_watermark_seconds`.'),
]);

export const DASHBOARDS: Record<string, Dashboard> = {
  'agent-overview.json': agentOverview,
  'llm-cost.json': llmCost,
  'tools.json': tools,
  'traces.json': traces,
  'pipeline-health.json': pipelineHealth,
};
