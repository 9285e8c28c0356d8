import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, resolveConfig } from '../../services/config.js';
import { ConfigError, Section, parseDurationMs } from '../../services/shared/config.js';
import { components } from '../../services/component/registry.js';

describe('config', () => {
  it('gives laptop defaults from an empty document', () => {
    const c = resolveConfig({}, {});
    assert.deepEqual([c.receivers.otlp.http?.host, c.receivers.otlp.http?.port, c.receivers.otlp.http?.maxBodyBytes], ['0.0.0.0', 4318, 20 * 1024 * 1024]);
    assert.deepEqual([c.receivers.otlp.grpc?.host, c.receivers.otlp.grpc?.port, c.receivers.otlp.grpc?.maxRecvMsgBytes], ['0.0.0.0', 4317, 20 * 1024 * 1024]);
    assert.deepEqual(c.kafka.brokers, []);
    assert.equal(c.exporters.kafka.topic, 'otel-spans');
    assert.equal(c.exporters.kafka.partitions, 3);
    assert.equal(c.exporters.kafka.logsTopic, 'otel-logs');
    assert.deepEqual(c.receivers.kafka.logs, { topic: 'otel-logs', encoding: 'otlp_proto', groupId: 'tracehouse-consumer-logs' });
    const logs = resolveConfig({}, { KAFKA_LOGS_TOPIC: 'l', KAFKA_GROUP_ID: 'g', KAFKA_ENCODING: 'otlp_json' });
    assert.deepEqual([logs.exporters.kafka.logsTopic, logs.receivers.kafka.logs], ['l', { topic: 'l', encoding: 'otlp_json', groupId: 'g-logs' }]);
    assert.deepEqual([c.processors.batch.maxRows, c.processors.batch.maxDelayMs, c.processors.batch.maxBufferedRows], [60_000, 500, 240_000]);
    assert.deepEqual([c.exporters.kafka.producerClient, c.exporters.kafka.lingerMs, c.exporters.kafka.compression], ['auto', 5, 'lz4']);
    assert.deepEqual([c.exporters.clickhouse.url, c.exporters.clickhouse.dataDir, c.exporters.clickhouse.database, c.exporters.clickhouse.ttlDays], ['', './data', 'telemetry', 30]);
    assert.deepEqual(Object.keys(c.pipelines), ['traces/ingest', 'traces/store', 'logs/ingest', 'logs/store']);
    assert.deepEqual(c.exporters.clickhouse.server, { httpPort: 8123, tcpPort: 9000 });
    assert.deepEqual(c.exporters.clickhouse.tenants, []);
    // No port: the service picks 8888, or 8889 for the consumer, so both run on one machine.
    assert.deepEqual(c.admin, { host: '127.0.0.1', port: null });
  });

  it('reads the admin endpoint, the local server ports and the tenants from file or environment, naming what is wrong', () => {
    assert.deepEqual(resolveConfig({ service: { telemetry: { metrics: { address: '0.0.0.0:9999' } } } }, {}).admin, { host: '0.0.0.0', port: 9999 });
    assert.deepEqual(resolveConfig({}, { TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:7000' }).admin, { host: '127.0.0.1', port: 7000 });
    assert.throws(() => resolveConfig({}, { TRACEHOUSE_ADMIN_ENDPOINT: 'nonsense' }), /TRACEHOUSE_ADMIN_ENDPOINT/);
    const c = resolveConfig({ exporters: { clickhouse: { server: { http_port: 18123, tcp_port: 19000 }, tenants: ['a', 'b'] } } }, { CLICKHOUSE_TCP_PORT: '0' });
    assert.deepEqual(c.exporters.clickhouse.server, { httpPort: 18123, tcpPort: 0 });
    assert.deepEqual(c.exporters.clickhouse.tenants, ['a', 'b']);
    assert.deepEqual(resolveConfig({}, { TRACEHOUSE_TENANTS: ' x, y ,' }).exporters.clickhouse.tenants, ['x', 'y']);
    assert.throws(() => resolveConfig({}, { CLICKHOUSE_HTTP_PORT: 'http' }), /CLICKHOUSE_HTTP_PORT/);
  });

  it('reads the ClickHouse cluster from file or environment: an identifier, and only with an endpoint', () => {
    assert.equal(resolveConfig({}, {}).exporters.clickhouse.cluster, '');
    const url = 'http://ch:8123';
    assert.equal(resolveConfig({ exporters: { clickhouse: { endpoint: url, cluster: 'prod' } } }, {}).exporters.clickhouse.cluster, 'prod');
    assert.equal(resolveConfig({ exporters: { clickhouse: { cluster: 'prod' } } }, { CLICKHOUSE_URL: url, CLICKHOUSE_CLUSTER: 'eu' }).exporters.clickhouse.cluster, 'eu');
    assert.throws(() => resolveConfig({ exporters: { clickhouse: { endpoint: url, cluster: 'a b' } } }, {}), /exporters\.clickhouse\.cluster must be a plain identifier/);
    assert.throws(() => resolveConfig({}, { CLICKHOUSE_URL: url, CLICKHOUSE_CLUSTER: "x'; DROP" }), /CLICKHOUSE_CLUSTER must be a plain identifier/);
    assert.throws(() => resolveConfig({ exporters: { clickhouse: { cluster: 'prod' } } }, {}), /exporters\.clickhouse\.cluster needs endpoint \(CLICKHOUSE_URL\): the local server is a single node/);
  });

  it('reads the ClickHouse request timeout from file or environment; zero or garbage names the key', () => {
    assert.equal(resolveConfig({}, {}).exporters.clickhouse.timeoutMs, 60_000);
    assert.equal(resolveConfig({ exporters: { clickhouse: { timeout: '5s' } } }, {}).exporters.clickhouse.timeoutMs, 5000);
    assert.equal(resolveConfig({ exporters: { clickhouse: { timeout: '5s' } } }, { CLICKHOUSE_TIMEOUT: '250ms' }).exporters.clickhouse.timeoutMs, 250);
    assert.throws(() => resolveConfig({}, { CLICKHOUSE_TIMEOUT: 'soon' }), /CLICKHOUSE_TIMEOUT/);
    assert.throws(() => resolveConfig({}, { CLICKHOUSE_TIMEOUT: '0s' }), /CLICKHOUSE_TIMEOUT must be more than 0/);
    assert.throws(() => resolveConfig({ exporters: { clickhouse: { timeout: 0 } } }, {}), /exporters\.clickhouse\.timeout must be more than 0/);
  });

  it('reads the shipped otel-collector.yaml', () => {
    const c = loadConfig('otel-collector.yaml', {});
    assert.equal(c.exporters.kafka.produceTimeoutMs, 5000);
    assert.equal(c.exporters.clickhouse.ttlDays, 30);
    assert.deepEqual(c.pipelines['traces/ingest'], { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] });
    assert.deepEqual(resolveConfig(parse(readFileSync('otel-collector.yaml', 'utf8')), {}), c);
  });

  it('lets the environment override the file', () => {
    const c = resolveConfig(
      { exporters: { kafka: { brokers: ['file:9092'] } } },
      { KAFKA_BROKERS: 'a:1, b:2', CLICKHOUSE_URL: 'http://ch:8123', OTLP_HTTP_ENDPOINT: ':4000', BATCH_MAX_ROWS: '50', BATCH_TIMEOUT: '250ms', CLICKHOUSE_TTL_DAYS: '7', TRACEHOUSE_DEFAULT_TENANT: 'solo',
        KAFKA_PRODUCER_CLIENT: 'librdkafka', KAFKA_TOPIC_PARTITIONS: '2', KAFKA_PRODUCER_LINGER: '0ms' },
    );
    assert.deepEqual([c.processors.batch.maxDelayMs, c.exporters.kafka.producerClient, c.exporters.kafka.partitions, c.exporters.kafka.lingerMs], [250, 'librdkafka', 2, 0]);
    assert.equal(resolveConfig({ exporters: { kafka: { producer: { linger: '20ms' } } } }, {}).exporters.kafka.lingerMs, 20);
    assert.throws(() => resolveConfig({ exporters: { kafka: { producer: { linger: 'soon' } } } }, {}), /exporters\.kafka\.producer\.linger/);
    assert.throws(() => resolveConfig({ exporters: { kafka: { timeout: '1s', producer: { linger: '2s' } } } }, {}), /exporters\.kafka\.producer\.linger .*must be less than exporters\.kafka\.timeout \(1000 ms\), got 2000 ms/);
    assert.throws(() => resolveConfig({}, { KAFKA_PRODUCER_CLIENT: 'rdkafka' }), /KAFKA_PRODUCER_CLIENT must be auto or kafkajs or librdkafka/);
    assert.equal(resolveConfig({ exporters: { kafka: { producer: { compression: 'lz4' } } } }, { KAFKA_PRODUCER_COMPRESSION: 'zstd' }).exporters.kafka.compression, 'zstd');
    assert.throws(() => resolveConfig({ exporters: { kafka: { producer: { compression: 'brotli' } } } }, {}), /exporters\.kafka\.producer\.compression must be none or gzip or snappy or lz4 or zstd/);
    assert.deepEqual(c.kafka.brokers, ['a:1', 'b:2']);
    assert.equal(c.exporters.clickhouse.url, 'http://ch:8123');
    assert.deepEqual([c.receivers.otlp.http?.host, c.receivers.otlp.http?.port], ['0.0.0.0', 4000]);
    assert.deepEqual([c.processors.batch.maxRows, c.processors.batch.maxDelayMs, c.exporters.clickhouse.ttlDays, c.processors.attributes.tenant], [50, 250, 7, 'solo']);
  });

  it('reads the genai processor: content cap, opted-out tenants, price rows', () => {
    const c = resolveConfig({ processors: { genai: { content_max_bytes: 1024, no_content_tenants: ['bank'], prices: [{ provider: 'acme', model: 'acme-1', effective_from: '2025-01-01', input: 1, output: 2, cache_read: 0.1 }] } } }, {});
    assert.deepEqual(c.processors.genai, { contentMaxBytes: 1024, noContentTenants: ['bank'], prices: [{ provider: 'acme', model: 'acme-1', aliases: [], effective_from: '2025-01-01', input: 1, output: 2, cache_read: 0.1 }] });
    assert.equal(resolveConfig({}, {}).processors.genai.contentMaxBytes, 16 * 1024);
    assert.throws(() => resolveConfig({ processors: { genai: { prices: [{ model: 'x', input: 1 }] } } }, {}), /prices\[0\]\.output .* is required/);
    assert.throws(() => resolveConfig({ processors: { genai: { prices: [{ model: 'x', input: -1, output: 1 }] } } }, {}), /prices\[0\]\.input must be a non-negative number/);
    assert.throws(() => resolveConfig({ processors: { genai: { prices: [{ model: 'x', input: 1, output: 1, effective_from: 'soon' }] } } }, {}), /YYYY-MM-DD/);
  });

  it('gives every registered component a default config: its absent section parses', () => {
    for (const kind of ['receiver', 'processor', 'exporter'] as const) {
      for (const type of components.types(kind)) {
        assert.doesNotThrow(() => components.get(kind, type, 'test').parseConfig(new Section(undefined, `${kind}s.${type}`, {})), `${kind} ${type}`);
      }
    }
  });

  it('parses collector durations', () => {
    assert.deepEqual(['500ms', '1s', '2m', '720h', '1.5s', 40].map((d) => parseDurationMs(d, 'd')), [500, 1000, 120_000, 2_592_000_000, 1500, 40]);
    assert.throws(() => parseDurationMs('soon', 'd'), ConfigError);
  });

  it('refuses bad values with a message naming the key', () => {
    assert.throws(() => resolveConfig({ receivers: { kafka: { encoding: 'avro' } } }, {}), /receivers.kafka.encoding/);
    assert.throws(() => resolveConfig({ processors: { batch: { send_batch_size: 0 } } }, {}), /send_batch_size/);
    assert.throws(() => resolveConfig({ processors: { batch: { send_batch_size: 100, send_batch_max_size: 99 } } }, {}), /^ConfigError: processors\.batch\.send_batch_max_size must be at least send_batch_size \(100\)$/);
    assert.equal(resolveConfig({ processors: { batch: { send_batch_size: 100 } } }, {}).processors.batch.maxBufferedRows, 400);
    assert.throws(() => resolveConfig({ processors: { batch: { timeout: '0s' } } }, {}), /^ConfigError: processors\.batch\.timeout must be more than 0$/);
    assert.throws(() => resolveConfig({ exporters: { kafka: { client: 'rdkafka' } } }, {}), /exporters.kafka.client must be auto or kafkajs or librdkafka/);
    assert.throws(() => resolveConfig({}, { KAFKA_TOPIC_PARTITIONS: '0' }), /^ConfigError: KAFKA_TOPIC_PARTITIONS must be at least 1$/);
    assert.throws(() => resolveConfig({ exporters: { clickhouse: { database: 'x; DROP' } } }, {}), /plain identifier/);
    assert.throws(() => resolveConfig({ service: { pipelines: { traces: { receivers: ['zipkin'] } } } }, {}), /service\.pipelines\.traces\.receivers\[0\]: unknown receiver "zipkin"/);
    assert.throws(() => resolveConfig({ receivers: { otlp: { protocols: { http: { endpoint: 'nope' } } } } }, {}), /host:port/);
    // The full YAML path, not the last key alone.
    assert.throws(() => resolveConfig({ processors: { batch: { send_batch_size: 'many' } } }, {}), /^ConfigError: processors\.batch\.send_batch_size must be a non-negative integer, got "many"$/);
    assert.throws(() => resolveConfig({ receivers: { otlp: { limits: { max_future_skew: 'later' } } } }, {}), /receivers\.otlp\.limits\.max_future_skew must be a duration/);
  });

  it('refuses timeouts that cannot work, naming the key or variable', () => {
    assert.throws(() => resolveConfig({ exporters: { kafka: { timeout: '0s' } } }, {}), /exporters\.kafka\.timeout must be more than 0/);
    assert.throws(() => resolveConfig({ receivers: { kafka: { session_timeout: '1s' } } }, {}), /receivers\.kafka\.session_timeout must be at least 6s/);
    assert.throws(() => resolveConfig({}, { KAFKA_SESSION_TIMEOUT: '500ms' }), /KAFKA_SESSION_TIMEOUT must be at least 6s/);
    assert.equal(resolveConfig({}, { KAFKA_SESSION_TIMEOUT: '6s' }).receivers.kafka.sessionTimeoutMs, 6000);
  });

  it('a bad environment value names the variable', () => {
    assert.throws(() => resolveConfig({}, { BATCH_MAX_ROWS: 'abc' }), /^ConfigError: BATCH_MAX_ROWS must be a non-negative integer, got "abc"$/);
    for (const name of ['KAFKA_TOPIC_PARTITIONS', 'TRACEHOUSE_CONTENT_MAX_BYTES', 'BATCH_MAX_ROWS', 'CLICKHOUSE_TTL_DAYS', 'CLICKHOUSE_TCP_PORT']) {
      assert.throws(() => resolveConfig({}, { [name]: '-1' }), new RegExp(`^ConfigError: ${name} must be`), name);
    }
  });

  it('expands ${env:NAME} and ${env:NAME:-default} in the YAML as the Collector does', () => {
    const doc = {
      exporters: { kafka: { brokers: ['${env:BROKER_HOST}:9092', '${env:OTHER:-b2}:9092'], topic: 'spans-${env:STAGE:-dev}' }, clickhouse: { password: 'pa$$word', ttl: '${env:TTL:-48h}' } },
      processors: { batch: { send_batch_size: '${env:BATCH}' } },
    };
    const c = resolveConfig(doc, { BROKER_HOST: 'k1', BATCH: '500' });
    assert.deepEqual(c.kafka.brokers, ['k1:9092', 'b2:9092']);
    assert.equal(c.exporters.kafka.topic, 'spans-dev');
    assert.equal(c.exporters.clickhouse.password, 'pa$word');
    assert.equal(c.exporters.clickhouse.ttlDays, 2);
    assert.equal(c.processors.batch.maxRows, 500, 'a value that is only a reference takes its YAML type');
    // Unset without a default: empty, as in the Collector; an empty value takes the default.
    assert.equal(resolveConfig({ exporters: { kafka: { topic: 'a${env:NOPE}b' } } }, {}).exporters.kafka.topic, 'ab');
    assert.equal(resolveConfig({ exporters: { kafka: { topic: '${env:EMPTY:-fallback}' } } }, { EMPTY: '' }).exporters.kafka.topic, 'fallback');
    assert.throws(() => resolveConfig({ exporters: { kafka: { topic: '${file:/etc/passwd}' } } }, {}), /exporters\.kafka\.topic: unsupported reference \$\{file:\/etc\/passwd\}/);
    assert.throws(() => resolveConfig({ exporters: { kafka: { brokers: ['${env:9X}'] } } }, {}), /exporters\.kafka\.brokers\[0\]: \$\{env:9X\} is not a valid environment variable name/);
    assert.throws(() => resolveConfig({ processors: { batch: { send_batch_size: '${env:BATCH}' } } }, { BATCH: 'lots' }), /processors\.batch\.send_batch_size must be a non-negative integer, got "lots"/);
  });

  it('checks service.pipelines: known types, configured components, a receiver and an exporter each, with the YAML path', () => {
    const sections = { receivers: { otlp: null, kafka: {} }, processors: { batch: null, attributes: null, genai: null }, exporters: { kafka: null, clickhouse: null } };
    const withPipelines = (pipelines: unknown, extra: Record<string, unknown> = sections) => resolveConfig({ ...extra, service: { pipelines } }, {});
    const direct = { receivers: ['otlp'], processors: ['attributes', 'genai', 'batch'], exporters: ['clickhouse'] };
    assert.deepEqual(withPipelines({ traces: direct }).pipelines, { traces: direct });
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp'], processors: [], exporters: ['kafka'] } }), /service\.pipelines\.traces\.processors: a pipeline with the otlp receiver starts with the attributes processor/);
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp'], exporters: ['zipkin'] } }), /^ConfigError: service\.pipelines\.traces\.exporters\[0\]: unknown exporter "zipkin" \(known types: kafka, local_log, clickhouse\)$/);
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp'], exporters: ['kafka'] } }, { receivers: { otlp: null } }), /service\.pipelines\.traces\.exporters\[0\]: exporter "kafka" is not configured: add it under exporters:/);
    assert.throws(() => withPipelines({ 'traces/x': { receivers: [], exporters: ['kafka'] } }), /service\.pipelines\.traces\/x: a pipeline needs at least one receiver/);
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp'], processors: ['attributes'], exporters: [] } }), /service\.pipelines\.traces: a pipeline needs at least one exporter/);
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp'], processors: ['batch/large'], exporters: ['kafka'] } }), /processors\[0\]: "batch\/large": named instances \(type\/name\) are not supported/);
    assert.throws(() => withPipelines({ traces: { receivers: ['otlp', 'otlp'], exporters: ['kafka'] } }), /service\.pipelines\.traces\.receivers lists a component twice/);
    assert.throws(() => withPipelines({ metrics: { receivers: ['otlp'], exporters: ['kafka'] } }), /service\.pipelines\.metrics: a pipeline is named after its signal: traces or traces\/NAME, logs or logs\/NAME/);
  });
});
