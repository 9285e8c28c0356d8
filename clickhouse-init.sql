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
