#!/usr/bin/env node
// tracehouse <start|receiver|consumer|migrate|query> [--config otel-collector.yaml]
import { parseArgs } from 'node:util';
import { startApp, type Mode } from './app.js';
import { openClickHouse } from './shared/clickhouse/client.js';
import { migrate } from './shared/clickhouse/migrate.js';
import { readOnlyViolation } from './shared/clickhouse/query-route.js';
import { type Config, ConfigError, loadConfig } from './shared/config.js';
import { exitOnSignal } from './shared/lifecycle.js';
import { createLogger } from './shared/log.js';

const USAGE = `usage: tracehouse <command> [--config FILE]

commands:
  start              receiver + consumer in one process (embedded ClickHouse unless CLICKHOUSE_URL;
                     direct to ClickHouse unless KAFKA_BROKERS)
  receiver           OTLP/HTTP receiver -> Kafka
  consumer           Kafka -> ClickHouse
  migrate            apply clickhouse-init.sql migrations
  query "<SQL>"      run a read-only query; prints rows as JSON lines

Configuration: otel-collector.yaml (or --config / TRACEHOUSE_CONFIG) plus environment overrides;
see README.md.`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig(values.config);
  switch (command) {
    case 'start':
    case 'receiver':
    case 'consumer':
      return run(command === 'start' ? 'all' : command, config);
    case 'migrate':
      return runMigrate(config);
    case 'query':
      return runQuery(config, rest.join(' '));
    default:
      throw new ConfigError(`unknown command "${command}"\n${USAGE}`);
  }
}

async function run(mode: Mode, config: Config): Promise<void> {
  const log = createLogger(mode === 'all' ? 'tracehouse' : mode);
  const app = await startApp(mode, config, log);
  exitOnSignal(() => app.stop(), log);
  if (mode === 'all') {
    const host = config.otlp.host === '0.0.0.0' ? 'localhost' : config.otlp.host;
    process.stderr.write(
      `\nTracehouse is running.\n` +
        `  Send OTLP/HTTP traces to  http://${host}:${app.otlpPort}/v1/traces  (OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:${app.otlpPort})\n` +
        `  Storage                   ${app.clickhouse?.location}${app.clickhouse?.embedded ? ' (embedded ClickHouse)' : ''}\n` +
        `  Kafka                     ${config.kafka.brokers.length > 0 ? config.kafka.brokers.join(',') : 'not configured: direct path'}\n` +
        `  Query                     npx tracehouse query "SELECT service_name, operation, count() FROM ${config.clickhouse.database}.spans_raw GROUP BY ALL"\n` +
        `  Health and metrics        http://${config.admin.host}:${app.adminPort}/healthz  /readyz  /metrics\n` +
        `Stop with Ctrl-C.\n\n`,
    );
  }
}

async function runMigrate(config: Config): Promise<void> {
  const log = createLogger('migrate');
  const ch = await openClickHouse(config.clickhouse);
  try {
    const applied = await migrate(ch.client, { database: config.clickhouse.database, ttlDays: config.clickhouse.ttlDays }, log);
    log.info(applied.length > 0 ? 'migrations applied' : 'schema is up to date', { applied, location: ch.location });
  } finally {
    await ch.close();
  }
}

/** Against CLICKHOUSE_URL directly; otherwise through the running embedded instance's admin endpoint. */
async function runQuery(config: Config, sql: string): Promise<void> {
  if (sql.trim() === '') throw new ConfigError('query needs the SQL as an argument');
  const violation = readOnlyViolation(sql);
  if (violation) throw new ConfigError(violation);
  if (config.clickhouse.url !== '') {
    const ch = await openClickHouse(config.clickhouse);
    try {
      const rs = await ch.client.query({ query: sql.trim().replace(/;\s*$/, ''), format: 'JSONEachRow' });
      process.stdout.write(await rs.text());
    } finally {
      await ch.close();
    }
    return;
  }
  const url = `http://${config.admin.host === '0.0.0.0' ? '127.0.0.1' : config.admin.host}:${config.admin.port}/query`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: sql });
  } catch {
    throw new ConfigError(`no running Tracehouse at ${url}: start one with \`npm start\`, or set CLICKHOUSE_URL to query a server`);
  }
  const text = await res.text();
  if (!res.ok) throw new ConfigError(`query failed (${res.status}): ${text.trim()}`);
  process.stdout.write(text);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tracehouse: ${message}\n`);
  if (!(err instanceof ConfigError) && err instanceof Error && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
