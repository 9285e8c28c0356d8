-- Tracehouse schema. Applied by `tracehouse migrate` (also run by `npm start`, the consumer and the
-- compose init job): each `-- migration: NNNN_name` section runs once, in order, and is recorded in
-- {{database}}.schema_migrations. Placeholders: {{database}} (default telemetry) and {{ttl_days}}
-- (exporters.clickhouse.ttl / CLICKHOUSE_TTL_DAYS, default 30). Never edit an applied section:
-- add a new one. Every statement is idempotent.

-- migration: 0001_spans_raw
CREATE DATABASE IF NOT EXISTS {{database}};

-- One row per span. Ids are lowercase hex; timestamps keep OTLP nanosecond precision.
CREATE TABLE IF NOT EXISTS {{database}}.spans_raw
(
    tenant_id           LowCardinality(String),
    env                 LowCardinality(String),
    trace_id            String CODEC(ZSTD(1)),
    span_id             String CODEC(ZSTD(1)),
    parent_span_id      String CODEC(ZSTD(1)),
    trace_state         String CODEC(ZSTD(1)),
    service_name        LowCardinality(String),
    operation           LowCardinality(String),
    span_kind           LowCardinality(String),
    status_code         LowCardinality(String),
    status_message      String CODEC(ZSTD(1)),
    start_ts            DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    end_ts              DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    duration_ms         Float64 CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    scope_name          LowCardinality(String),
    scope_version       LowCardinality(String),
    events_count        UInt32,
    links_count         UInt32,
    ingested_at         DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration duration_ms TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(start_ts)
ORDER BY (tenant_id, toDate(start_ts), service_name, operation, start_ts)
TTL toDateTime(start_ts) + INTERVAL {{ttl_days}} DAY DELETE
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

-- migration: 0002_genai_columns
-- Canonical GenAI columns filled by the normalizer (services/shared/normalize). Token semantics:
-- tokens_prompt includes cached tokens; tokens_completion includes reasoning tokens.
ALTER TABLE {{database}}.spans_raw
    ADD COLUMN IF NOT EXISTS gen_ai_operation   LowCardinality(String),
    ADD COLUMN IF NOT EXISTS agent_name         LowCardinality(String),
    ADD COLUMN IF NOT EXISTS provider           LowCardinality(String),
    ADD COLUMN IF NOT EXISTS model              LowCardinality(String),
    ADD COLUMN IF NOT EXISTS request_model      LowCardinality(String),
    ADD COLUMN IF NOT EXISTS tool_name          LowCardinality(String),
    ADD COLUMN IF NOT EXISTS tokens_prompt      UInt64,
    ADD COLUMN IF NOT EXISTS tokens_completion  UInt64,
    ADD COLUMN IF NOT EXISTS tokens_cache_read  UInt64,
    ADD COLUMN IF NOT EXISTS tokens_cache_write UInt64,
    ADD COLUMN IF NOT EXISTS tokens_reasoning   UInt64,
    ADD COLUMN IF NOT EXISTS tokens_total       UInt64,
    ADD COLUMN IF NOT EXISTS cost_usd           Decimal(18, 10),
    ADD COLUMN IF NOT EXISTS cost_source        LowCardinality(String),
    ADD COLUMN IF NOT EXISTS price_version      LowCardinality(String),
    ADD COLUMN IF NOT EXISTS user_id            String CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS session_id         String CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS workflow_id        LowCardinality(String),
    ADD COLUMN IF NOT EXISTS error_type         LowCardinality(String),
    ADD COLUMN IF NOT EXISTS content_truncated  UInt8,
    ADD COLUMN IF NOT EXISTS content_dropped    UInt8,
    ADD COLUMN IF NOT EXISTS normalizer_version UInt16;

-- migration: 0003_events_raw
-- Span events (exceptions, gen_ai.* events, custom events), one row each.
CREATE TABLE IF NOT EXISTS {{database}}.events_raw
(
    event_ts           DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    event_type         LowCardinality(String),
    tenant_id          LowCardinality(String),
    env                LowCardinality(String),
    service_name       LowCardinality(String),
    trace_id           String CODEC(ZSTD(1)),
    span_id            String CODEC(ZSTD(1)),
    operation          LowCardinality(String),
    payload_json       String CODEC(ZSTD(3)),
    model              LowCardinality(String),
    tool_name          LowCardinality(String),
    tokens_prompt      UInt64,
    tokens_completion  UInt64,
    tokens_total       UInt64,
    cost_usd           Decimal(18, 10),
    normalizer_version UInt16,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(event_ts)
ORDER BY (tenant_id, toDate(event_ts), event_type, event_ts)
TTL toDateTime(event_ts) + INTERVAL {{ttl_days}} DAY DELETE
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

-- migration: 0004_rollups
-- Per-minute rollups filled by materialized views on spans_raw. Counts and sums are
-- SimpleAggregateFunction (read with sum()), latency quantiles are states (read with
-- quantilesTimingMerge). Each target keeps a dedup window so a re-inserted batch is not counted twice.
CREATE TABLE IF NOT EXISTS {{database}}.spans_minute
(
    minute       DateTime,
    tenant_id    LowCardinality(String),
    env          LowCardinality(String),
    service_name LowCardinality(String),
    operation    LowCardinality(String),
    calls        SimpleAggregateFunction(sum, UInt64),
    errors       SimpleAggregateFunction(sum, UInt64),
    tokens_total SimpleAggregateFunction(sum, UInt64),
    cost_usd     SimpleAggregateFunction(sum, Decimal(38, 10)),
    latency_ms   AggregateFunction(quantilesTiming(0.5, 0.9, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (tenant_id, service_name, operation, env, minute)
TTL minute + INTERVAL 400 DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.spans_minute_mv TO {{database}}.spans_minute AS
SELECT
    toStartOfMinute(toDateTime(start_ts)) AS minute,
    tenant_id, env, service_name, operation,
    toUInt64(count()) AS calls,
    toUInt64(countIf(status_code = 'ERROR')) AS errors,
    sum(tokens_total) AS tokens_total,
    sum(toDecimal128(cost_usd, 10)) AS cost_usd,
    quantilesTimingState(0.5, 0.9, 0.95, 0.99)(duration_ms) AS latency_ms
FROM {{database}}.spans_raw
GROUP BY minute, tenant_id, env, service_name, operation;

CREATE TABLE IF NOT EXISTS {{database}}.llm_minute
(
    minute             DateTime,
    tenant_id          LowCardinality(String),
    env                LowCardinality(String),
    provider           LowCardinality(String),
    model              LowCardinality(String),
    calls              SimpleAggregateFunction(sum, UInt64),
    errors             SimpleAggregateFunction(sum, UInt64),
    unpriced_calls     SimpleAggregateFunction(sum, UInt64),
    tokens_prompt      SimpleAggregateFunction(sum, UInt64),
    tokens_completion  SimpleAggregateFunction(sum, UInt64),
    tokens_cache_read  SimpleAggregateFunction(sum, UInt64),
    tokens_cache_write SimpleAggregateFunction(sum, UInt64),
    tokens_reasoning   SimpleAggregateFunction(sum, UInt64),
    tokens_total       SimpleAggregateFunction(sum, UInt64),
    cost_usd           SimpleAggregateFunction(sum, Decimal(38, 10)),
    latency_ms         AggregateFunction(quantilesTiming(0.5, 0.9, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (tenant_id, provider, model, env, minute)
TTL minute + INTERVAL 400 DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.llm_minute_mv TO {{database}}.llm_minute AS
SELECT
    toStartOfMinute(toDateTime(start_ts)) AS minute,
    tenant_id, env, provider, model,
    toUInt64(count()) AS calls,
    toUInt64(countIf(status_code = 'ERROR')) AS errors,
    toUInt64(countIf(cost_source = 'unpriced')) AS unpriced_calls,
    sum(tokens_prompt) AS tokens_prompt,
    sum(tokens_completion) AS tokens_completion,
    sum(tokens_cache_read) AS tokens_cache_read,
    sum(tokens_cache_write) AS tokens_cache_write,
    sum(tokens_reasoning) AS tokens_reasoning,
    sum(tokens_total) AS tokens_total,
    sum(toDecimal128(cost_usd, 10)) AS cost_usd,
    quantilesTimingState(0.5, 0.9, 0.95, 0.99)(duration_ms) AS latency_ms
FROM {{database}}.spans_raw
WHERE gen_ai_operation IN ('chat', 'text_completion', 'generate_content', 'embeddings', 'rerank')
GROUP BY minute, tenant_id, env, provider, model;

CREATE TABLE IF NOT EXISTS {{database}}.tool_minute
(
    minute     DateTime,
    tenant_id  LowCardinality(String),
    env        LowCardinality(String),
    tool_name  LowCardinality(String),
    calls      SimpleAggregateFunction(sum, UInt64),
    errors     SimpleAggregateFunction(sum, UInt64),
    latency_ms AggregateFunction(quantilesTiming(0.5, 0.9, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (tenant_id, tool_name, env, minute)
TTL minute + INTERVAL 400 DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.tool_minute_mv TO {{database}}.tool_minute AS
SELECT
    toStartOfMinute(toDateTime(start_ts)) AS minute,
    tenant_id, env, tool_name,
    toUInt64(count()) AS calls,
    toUInt64(countIf(status_code = 'ERROR')) AS errors,
    quantilesTimingState(0.5, 0.9, 0.95, 0.99)(duration_ms) AS latency_ms
FROM {{database}}.spans_raw
WHERE gen_ai_operation = 'execute_tool'
GROUP BY minute, tenant_id, env, tool_name;

-- Trace lookup: one trace found by id without scanning spans_raw; start/end bound the spans_raw read.
CREATE TABLE IF NOT EXISTS {{database}}.trace_index
(
    day            Date,
    trace_id       String,
    tenant_id      LowCardinality(String),
    start_ts       SimpleAggregateFunction(min, DateTime64(9)),
    end_ts         SimpleAggregateFunction(max, DateTime64(9)),
    root_service   SimpleAggregateFunction(max, String),
    root_operation SimpleAggregateFunction(max, String),
    span_count     SimpleAggregateFunction(sum, UInt64),
    error_count    SimpleAggregateFunction(sum, UInt64),
    cost_usd       SimpleAggregateFunction(sum, Decimal(38, 10))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (trace_id, tenant_id, day)
TTL day + INTERVAL {{ttl_days}} DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.trace_index_mv TO {{database}}.trace_index AS
SELECT
    toDate(span_start) AS day,
    trace_id, tenant_id,
    min(span_start) AS start_ts,
    max(span_end) AS end_ts,
    max(if(parent_span_id = '', toString(service_name), '')) AS root_service,
    max(if(parent_span_id = '', toString(operation), '')) AS root_operation,
    toUInt64(count()) AS span_count,
    toUInt64(countIf(status_code = 'ERROR')) AS error_count,
    sum(toDecimal128(cost_usd, 10)) AS cost_usd
-- Renamed in a subquery: an aggregate aliased start_ts would shadow the column in toDate(start_ts).
FROM (SELECT start_ts AS span_start, end_ts AS span_end, trace_id, tenant_id, parent_span_id, service_name, operation, status_code, cost_usd FROM {{database}}.spans_raw)
GROUP BY day, trace_id, tenant_id;

-- migration: 0005_ingest_watermark
-- How fresh the data is, per tenant: the newest span start time stored and when it was stored.
-- Dashboards and the "no data" alert read freshness as now() - newest_ingested_at.
CREATE TABLE IF NOT EXISTS {{database}}.ingest_watermark
(
    tenant_id          LowCardinality(String),
    newest_span_ts     SimpleAggregateFunction(max, DateTime64(9)),
    newest_ingested_at SimpleAggregateFunction(max, DateTime64(3)),
    spans              SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY tenant_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.ingest_watermark_mv TO {{database}}.ingest_watermark AS
SELECT tenant_id, max(start_ts) AS newest_span_ts, max(ingested_at) AS newest_ingested_at, toUInt64(count()) AS spans
FROM {{database}}.spans_raw
GROUP BY tenant_id;

-- migration: 0006_views_run_as_their_definer
-- The materialized views read spans_raw as the user who created them (the schema owner), so the
-- ingest user needs INSERT only: it can feed the rollups without being able to read any span.
ALTER TABLE {{database}}.spans_minute_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;
ALTER TABLE {{database}}.llm_minute_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;
ALTER TABLE {{database}}.tool_minute_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;
ALTER TABLE {{database}}.trace_index_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;
ALTER TABLE {{database}}.ingest_watermark_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;

-- migration: 0007_span_fidelity
-- Every OTLP span field, so that a span reads back as it arrived: trace flags, dropped counts,
-- scope attributes, schema URLs, the events and links nested in the span row (as the Collector's
-- clickhouseexporter keeps them; events_raw stays the GenAI-normalized event table), and the
-- attribute types the text maps cannot show: *_attribute_types holds, per non-string key, int /
-- double / bool / bytes / empty, or the exact OTLP/JSON value of an array or kvlist.
ALTER TABLE {{database}}.spans_raw
    ADD COLUMN IF NOT EXISTS trace_flags                       UInt32,
    ADD COLUMN IF NOT EXISTS dropped_attributes_count          UInt32,
    ADD COLUMN IF NOT EXISTS dropped_events_count              UInt32,
    ADD COLUMN IF NOT EXISTS dropped_links_count               UInt32,
    ADD COLUMN IF NOT EXISTS attribute_types                   Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS resource_attribute_types          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS resource_dropped_attributes_count UInt32,
    ADD COLUMN IF NOT EXISTS resource_schema_url               LowCardinality(String),
    ADD COLUMN IF NOT EXISTS scope_attributes                  Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS scope_attribute_types             Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS scope_dropped_attributes_count    UInt32,
    ADD COLUMN IF NOT EXISTS scope_schema_url                  LowCardinality(String),
    ADD COLUMN IF NOT EXISTS events Nested (
        time                     DateTime64(9),
        name                     LowCardinality(String),
        attributes               Map(LowCardinality(String), String),
        attribute_types          Map(LowCardinality(String), String),
        dropped_attributes_count UInt32
    ) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS links Nested (
        trace_id                 String,
        span_id                  String,
        trace_state              String,
        attributes               Map(LowCardinality(String), String),
        attribute_types          Map(LowCardinality(String), String),
        dropped_attributes_count UInt32,
        flags                    UInt32
    ) CODEC(ZSTD(1));

-- migration: 0008_otel_traces_view
-- The OpenTelemetry Collector clickhouseexporter's otel_traces layout over spans_raw, column for
-- column (names, types, SPAN_KIND_* / STATUS_CODE_* values), so that tools built for it (the
-- Grafana ClickHouse plugin's OTel dashboards and trace view, ClickStack / HyperDX) read Tracehouse
-- data unchanged. Tenant and GenAI columns come along after the exporter's.
CREATE VIEW IF NOT EXISTS {{database}}.otel_traces AS
SELECT
    start_ts                                                              AS Timestamp,
    trace_id                                                              AS TraceId,
    span_id                                                               AS SpanId,
    parent_span_id                                                        AS ParentSpanId,
    trace_state                                                           AS TraceState,
    operation                                                             AS SpanName,
    CAST(concat('SPAN_KIND_', span_kind), 'LowCardinality(String)')       AS SpanKind,
    service_name                                                          AS ServiceName,
    resource_attributes                                                   AS ResourceAttributes,
    CAST(scope_name, 'String')                                            AS ScopeName,
    CAST(scope_version, 'String')                                         AS ScopeVersion,
    attributes                                                            AS SpanAttributes,
    toUInt64(toUnixTimestamp64Nano(end_ts) - toUnixTimestamp64Nano(start_ts)) AS Duration,
    CAST(concat('STATUS_CODE_', status_code), 'LowCardinality(String)')   AS StatusCode,
    status_message                                                        AS StatusMessage,
    `events.time`                                                         AS `Events.Timestamp`,
    `events.name`                                                         AS `Events.Name`,
    `events.attributes`                                                   AS `Events.Attributes`,
    `links.trace_id`                                                      AS `Links.TraceId`,
    `links.span_id`                                                       AS `Links.SpanId`,
    `links.trace_state`                                                   AS `Links.TraceState`,
    `links.attributes`                                                    AS `Links.Attributes`,
    tenant_id, env, gen_ai_operation, model, tokens_total, cost_usd
FROM {{database}}.spans_raw;

-- migration: 0009_logs
-- OTLP log records, one row each, except GenAI events (gen_ai.* event names), which go to
-- events_raw beside span events. The body is text (arrays and maps as JSON); body_type and
-- *_attribute_types say what a value was, as in spans_raw. logs_minute counts records per
-- severity (the SeverityNumber range's name; the text when no number was sent) per minute.
CREATE TABLE IF NOT EXISTS {{database}}.logs_raw
(
    tenant_id                LowCardinality(String),
    env                      LowCardinality(String),
    service_name             LowCardinality(String),
    timestamp                DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    observed_timestamp       DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    severity_number          UInt8,
    severity_text            LowCardinality(String),
    body                     String CODEC(ZSTD(1)),
    body_type                String CODEC(ZSTD(1)),
    event_name               LowCardinality(String),
    trace_id                 String CODEC(ZSTD(1)),
    span_id                  String CODEC(ZSTD(1)),
    trace_flags              UInt32,
    attributes               Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attribute_types          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    dropped_attributes_count UInt32,
    resource_attributes      Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attribute_types Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_schema_url      LowCardinality(String),
    scope_name               LowCardinality(String),
    scope_version            LowCardinality(String),
    scope_attributes         Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    scope_schema_url         LowCardinality(String),
    content_truncated        UInt8,
    content_dropped          UInt8,
    normalizer_version       UInt16,
    ingested_at              DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_body body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (tenant_id, toDate(timestamp), service_name, severity_number, timestamp)
TTL toDateTime(timestamp) + INTERVAL {{ttl_days}} DAY DELETE
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {{database}}.logs_minute
(
    minute       DateTime,
    tenant_id    LowCardinality(String),
    env          LowCardinality(String),
    service_name LowCardinality(String),
    severity     LowCardinality(String),
    records      SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (tenant_id, service_name, severity, env, minute)
TTL minute + INTERVAL 400 DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.logs_minute_mv TO {{database}}.logs_minute AS
SELECT
    toStartOfMinute(toDateTime(timestamp)) AS minute,
    tenant_id, env, service_name,
    if(severity_number BETWEEN 1 AND 24, ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][intDiv(severity_number - 1, 4) + 1], if(severity_text = '', 'UNSPECIFIED', upper(severity_text))) AS severity,
    toUInt64(count()) AS records
FROM {{database}}.logs_raw
GROUP BY minute, tenant_id, env, service_name, severity;

ALTER TABLE {{database}}.logs_minute_mv MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER;

-- migration: 0010_fewer_merge_rewrites
-- The raw tables are written in batches of tens of thousands of rows and read by time range and
-- trace id, so fewer, wider merges pay: with a merge selector base of 10 instead of 5, a stage of
-- the peers bench rewrote each spans_raw row 1.86 times instead of 2.59 and each events_raw row 2.23
-- instead of 4.07-4.74, for 14-27% less server CPU, at the price of more parts waiting to merge.
ALTER TABLE {{database}}.spans_raw MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{database}}.events_raw MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{database}}.logs_raw MODIFY SETTING merge_selector_base = 10;

-- migration: 0011_span_events_once
-- A span event is stored once, nested in its span's row, with the usage it reported itself
-- (model, tool, tokens, cost: '' and 0 when it reported none). events_raw keeps the GenAI events
-- received as log records (no span name: operation = ''), and the view `events` reads both: every
-- event as events_raw rows read, a span event's model and tool falling back to its span's. Span
-- events written to events_raw before this migration stay there; `events` takes them from spans_raw
-- (nested since 0007). Each event was stored twice before: the same bench spans now take 27% less
-- disk, 18% fewer bytes inserted and 1.06 rows per span instead of 2.18.
ALTER TABLE {{database}}.spans_raw
    ADD COLUMN IF NOT EXISTS `events.model`             Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS `events.tool_name`         Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS `events.tokens_prompt`     Array(UInt64) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS `events.tokens_completion` Array(UInt64) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS `events.tokens_total`      Array(UInt64) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS `events.cost_usd`          Array(Decimal(18, 10)) CODEC(ZSTD(1));

CREATE VIEW IF NOT EXISTS {{database}}.events AS
SELECT event_ts, event_type, tenant_id, env, service_name, trace_id, span_id, operation, payload_json,
       CAST(model, 'String') AS model, CAST(tool_name, 'String') AS tool_name,
       tokens_prompt, tokens_completion, tokens_total, cost_usd, normalizer_version
FROM {{database}}.events_raw
WHERE operation = ''
UNION ALL
SELECT
    e.time                                                  AS event_ts,
    CAST(e.name, 'LowCardinality(String)')                  AS event_type,
    tenant_id, env, service_name, trace_id, span_id, operation,
    toJSONString(e.attributes)                              AS payload_json,
    if(e.model = '', CAST(model, 'String'), e.model)        AS model,
    if(e.tool_name = '', CAST(tool_name, 'String'), e.tool_name) AS tool_name,
    e.tokens_prompt                                         AS tokens_prompt,
    e.tokens_completion                                     AS tokens_completion,
    e.tokens_total                                          AS tokens_total,
    e.cost_usd                                              AS cost_usd,
    normalizer_version
FROM {{database}}.spans_raw
ARRAY JOIN events AS e;
