// exporters.clickhouse: which server (CLICKHOUSE_URL or the local one in data_dir), the database,
// its retention, the request timeout, whether migrations run at start and the cluster (if any) the
// schema is laid out for.
import type { ClickHouseConnection } from '../../shared/clickhouse/client.js';
import type { Section } from '../../shared/config.js';

export interface ClickHouseExporterConfig extends ClickHouseConnection {
  /** spans_raw retention, whole days. */
  ttlDays: number;
  migrateOnStart: boolean;
}

const DAY_MS = 86_400_000;

export function parseClickHouseExporterConfig(section: Section): ClickHouseExporterConfig {
  const server = section.child('server');
  const database = section.str('database', 'telemetry', 'CLICKHOUSE_DATABASE');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) section.fail('database', 'must be a plain identifier', 'CLICKHOUSE_DATABASE');
  const ttlDays = section.env.CLICKHOUSE_TTL_DAYS !== undefined ? section.int('ttl_days', 0, 'CLICKHOUSE_TTL_DAYS') : Math.round(section.duration('ttl', 30 * DAY_MS) / DAY_MS);
  if (ttlDays < 1) section.fail('ttl', 'must be at least one day', section.env.CLICKHOUSE_TTL_DAYS !== undefined ? 'CLICKHOUSE_TTL_DAYS' : undefined);
  const url = section.str('endpoint', '', 'CLICKHOUSE_URL');
  const cluster = section.str('cluster', '', 'CLICKHOUSE_CLUSTER');
  if (cluster !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster)) section.fail('cluster', 'must be a plain identifier (a cluster of the servers\' remote_servers)', 'CLICKHOUSE_CLUSTER');
  if (cluster !== '' && url === '') section.fail('cluster', 'needs endpoint (CLICKHOUSE_URL): the local server is a single node', 'CLICKHOUSE_CLUSTER');
  return {
    url,
    dataDir: section.str('data_dir', './data', 'TRACEHOUSE_DATA_DIR'),
    database,
    username: section.str('username', 'default', 'CLICKHOUSE_USER'),
    password: section.str('password', '', 'CLICKHOUSE_PASSWORD'),
    timeoutMs: section.duration('timeout', 60_000, 'CLICKHOUSE_TIMEOUT', { positive: true }),
    server: { httpPort: server.int('http_port', 8123, 'CLICKHOUSE_HTTP_PORT'), tcpPort: server.int('tcp_port', 9000, 'CLICKHOUSE_TCP_PORT') },
    tenants: section.list('tenants', 'TRACEHOUSE_TENANTS'),
    cluster,
    ttlDays,
    migrateOnStart: section.bool('migrate_on_start', true, 'TRACEHOUSE_MIGRATE_ON_START'),
  };
}
