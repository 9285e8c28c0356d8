#!/usr/bin/env node
// tracehouse <start|receiver|consumer|migrate|query> [--config otel-collector.yaml]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApp, type Mode } from './app.js';
import { openClickHouse } from './shared/clickhouse/client.js';
import { migrate } from './shared/clickhouse/migrate.js';
import { readOnlyViolation } from './shared/clickhouse/query-route.js';
import { type Config, ConfigError, loadConfig } from './shared/config.js';
import { TelemetrySink } from './shared/clickhouse/telemetry-sink.js';
import { createKafka } from './shared/kafka.js';
import { exitOnSignal } from './shared/lifecycle.js';
import { Registry } from './shared/metrics.js';
import { Normalizer } from './shared/normalize/rows.js';
import { backfillRollups, replayKafka } from './ops/backfill.js';
import { runDemo } from './ops/demo.js';
import { createLogger } from './shared/log.js';

const USAGE = `usage: tracehouse <command> [--config FILE]

commands:
  start              receiver + consumer in one process (embedded ClickHouse unless CLICKHOUSE_URL;
                     direct to ClickHouse unless KAFKA_BROKERS)
  receiver           OTLP/HTTP receiver -> Kafka
  consumer           Kafka -> ClickHouse
  migrate            apply clickhouse-init.sql migrations
  query "<SQL>"      run a read-only query; prints rows as JSON lines
  demo               send realistic multi-tenant agent traffic with the OpenTelemetry SDK
                     [--endpoint http://localhost:4318] [--rate 5 runs/s] [--duration 60 s] [--tenants a,b,c]
  backfill rollups   rebuild the rollups from spans_raw for --from ISO-TIME [--to ISO-TIME] (idempotent)
  hash-key KEY       print the SHA-256 to configure an ingest API key with (keys are stored hashed)
  backfill replay    store what spans_raw lacks from the Kafka topic since --from ISO-TIME (needs KAFKA_BROKERS)

Configuration: otel-collector.yaml (or --config / TRACEHOUSE_CONFIG) plus environment overrides;
see README.md.`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      endpoint: { type: 'string' },
      rate: { type: 'string', default: '5' },
      duration: { type: 'string', default: '60' },
      tenants: { type: 'string', default: 'acme,globex,initech' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
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
    case 'demo':
      await runDemo({
        endpoint: values.endpoint ?? `http://${config.otlp.host === '0.0.0.0' ? 'localhost' : config.otlp.host}:${config.otlp.port}`,
        rate: positiveNumber(values.rate!, '--rate'),
        durationSeconds: positiveNumber(values.duration!, '--duration'),
        tenants: values.tenants!.split(',').filter(Boolean),
        services: ['support-agent', 'research-agent'],
      });
      return;
    case 'hash-key':
      if (!rest[0]) throw new ConfigError('hash-key needs the key');
      process.stdout.write(`${createHash('sha256').update(rest[0]).digest('hex')}\n`);
      return;
    case 'backfill':
      return runBackfill(config, rest[0], values.from, values.to);
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

function positiveNumber(v: string, name: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new ConfigError(`${name} must be a positive number`);
  return n;
}

function time(v: string | undefined, name: string, fallback?: Date): Date {
  if (v === undefined) {
    if (fallback) return fallback;
    throw new ConfigError(`${name} is required (an ISO time such as 2026-11-22T10:00:00Z)`);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ConfigError(`${name}: not a time: ${v}`);
  return d;
}

async function runBackfill(config: Config, what: string | undefined, from: string | undefined, to: string | undefined): Promise<void> {
  if (what !== 'rollups' && what !== 'replay') throw new ConfigError('backfill needs "rollups" or "replay"');
  const range = { from: time(from, '--from'), to: time(to, '--to', new Date()) };
  if (range.to <= range.from) throw new ConfigError('--to must be after --from');
  const log = createLogger('backfill');
  const ch = await openClickHouse(config.clickhouse);
  try {
    await migrate(ch.client, config.clickhouse, log);
    if (what === 'rollups') return await backfillRollups(ch.client, config.clickhouse.database, range);
    if (config.kafka.brokers.length === 0) throw new ConfigError('backfill replay needs KAFKA_BROKERS');
    await replayKafka({
      kafka: createKafka(config.kafka.brokers, `${config.kafka.clientId}-replay`, log),
      cfg: config.kafka,
      fromMs: range.from.getTime(),
      batchRows: config.batch.maxRows,
      normalizer: Normalizer.fromConfig(config),
      sink: new TelemetrySink(ch, config.clickhouse.database, new Registry(), log),
      client: ch.client,
      database: config.clickhouse.database,
    });
  } finally {
    await ch.close();
  }
}

async function runMigrate(config: Config): Promise<void> {
  const log = createLogger('migrate');
  const ch = await openClickHouse(config.clickhouse);
  try {
    const applied = await migrate(ch.client, config.clickhouse, log);
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
