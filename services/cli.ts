#!/usr/bin/env node
// tracehouse <start|receiver|consumer|clickhouse|migrate|query|...> [--config otel-collector.yaml]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApp, type Mode } from './app.js';
import { localClickHouse, localUsers, openClickHouse } from './shared/clickhouse/client.js';
import { migrate } from './shared/clickhouse/migrate.js';
import { READER_USER, deployUsersXml } from './shared/clickhouse/users.js';
import { type Config, loadConfig } from './config.js';
import { ConfigError, reachableHost } from './shared/config.js';
import { TelemetrySink } from './exporters/clickhouse/telemetry-sink.js';
import { createKafka } from './shared/kafka.js';
import { exitOnSignal } from './shared/lifecycle.js';
import { Registry } from './shared/metrics.js';
import { Normalizer } from './processors/genai/rows.js';
import { backfillRollups, replayKafka } from './ops/backfill.js';
import { runDemo } from './ops/demo.js';
import { explainCost } from './ops/cost-explain.js';
import { backfillCost } from './ops/backfill-cost.js';
import { PriceTable } from './processors/genai/pricing.js';
import { createLogger } from './shared/log.js';
import { COMPONENTS, type ComponentName, LocalStack, formatStatus } from './stack/stack.js';

const USAGE = `usage: tracehouse <command> [--config FILE]

commands:
  start              receiver + consumer in one process (the local ClickHouse server unless CLICKHOUSE_URL;
                     direct to ClickHouse unless KAFKA_BROKERS)
  receiver           OTLP/HTTP receiver -> Kafka
  consumer           Kafka -> ClickHouse
  clickhouse         run the local ClickHouse server of the data directory in the foreground
  clickhouse credentials   print the local server's users and passwords
  clickhouse users-xml     print deploy/clickhouse/users.xml (the compose stack's users)
  stack up|down|status|logs   the compose stack's processes without Docker: a Kafka broker (127.0.0.1:29092),
                     the local ClickHouse server, the receiver and the consumer, each detached, logs in
                     <data_dir>/logs; logs [COMPONENT...] [--lines 50] [--follow]; status exits 1 unless all ready
  migrate            apply clickhouse-init.sql migrations
  query "<SQL>"      run a query as the read-only user [--format JSONEachRow]; a FORMAT clause in the SQL wins
  demo               send realistic multi-tenant agent traffic with the OpenTelemetry SDK
                     [--endpoint http://localhost:4318] [--rate 5 runs/s] [--duration 60 s] [--tenants a,b,c]
  cost explain ID    a trace's (or span's) model calls: tokens x price per kind, the price row used, the stored cost
  backfill rollups   rebuild the rollups from spans_raw for --from ISO-TIME [--to ISO-TIME] (idempotent)
  hash-key KEY       print the SHA-256 to configure an ingest API key with (keys are stored hashed)
  backfill cost      re-price the model calls stored since --from ISO-TIME [--to ISO-TIME] with today's prices, rebuild the rollups
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
      format: { type: 'string', default: 'JSONEachRow' },
      lines: { type: 'string', default: '50' },
      follow: { type: 'boolean', short: 'f' },
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
    case 'stack':
      return runStack(new LocalStack({ config, configFile: values.config ?? process.env.TRACEHOUSE_CONFIG, out: (line) => process.stdout.write(`${line}\n`) }), rest, Number(values.lines), values.follow === true);
    case 'migrate':
      return runMigrate(config);
    case 'query':
      return runQuery(config, rest.join(' '), values.format!);
    case 'clickhouse':
      if (rest[0] === 'credentials') return printCredentials(config);
      if (rest[0] === 'users-xml') return void process.stdout.write(deployUsersXml(config.exporters.clickhouse.database));
      if (rest[0] !== undefined) throw new ConfigError(`unknown clickhouse subcommand "${rest[0]}" (credentials, users-xml)`);
      return runClickHouse(config);
    case 'demo':
      await runDemo({
        endpoint: values.endpoint ?? otlpHttpUrl(config),
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
    case 'cost':
      if (rest[0] !== 'explain' || rest[1] === undefined) throw new ConfigError('usage: tracehouse cost explain <trace_id|span_id>');
      return runCostExplain(config, rest[1]);
    default:
      throw new ConfigError(`unknown command "${command}"\n${USAGE}`);
  }
}

async function run(mode: Mode, config: Config): Promise<void> {
  const log = createLogger(mode === 'all' ? 'tracehouse' : mode);
  const app = await startApp(mode, config, log);
  exitOnSignal(() => app.stop(), log);
  void app.failed.then(async (err) => {
    log.error('a component cannot go on: stopping', { err: err.message });
    await app.stop().catch((stopErr: unknown) => log.error('shutdown failed', { err: stopErr }));
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
  if (mode === 'all') {
    const { http, grpc } = config.receivers.otlp;
    process.stderr.write(
      `\nTracehouse is running.\n` +
        (http ? `  Send OTLP/HTTP traces to  http://${reachableHost(http.host)}:${app.otlpPort}/v1/traces, logs to /v1/logs  (OTEL_EXPORTER_OTLP_ENDPOINT=http://${reachableHost(http.host)}:${app.otlpPort})\n` : '') +
        (grpc ? `  Send OTLP/gRPC traces to  ${reachableHost(grpc.host)}:${app.otlpGrpcPort}, logs too  (OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://${reachableHost(grpc.host)}:${app.otlpGrpcPort})\n` : '') +
        `  ClickHouse                ${app.clickhouse?.location}${app.clickhouse?.managed ? ' (local server; users: npx tracehouse clickhouse credentials)' : ''}\n` +
        `  Kafka                     ${config.kafka.brokers.length > 0 ? config.kafka.brokers.join(',') : `not configured: the local durable log (${config.exporters.local_log.directory}) takes its place`}\n` +
        `  Query                     npx tracehouse query "SELECT service_name, operation, count() FROM ${config.exporters.clickhouse.database}.spans_raw GROUP BY ALL"\n` +
        `  Health and metrics        http://${config.admin.host}:${app.adminPort}/healthz  /readyz  /metrics\n` +
        `Stop with Ctrl-C.\n\n`,
    );
  }
}

/** Where `tracehouse demo` sends by default: this config's OTLP/HTTP endpoint. */
function otlpHttpUrl(config: Config): string {
  const { http } = config.receivers.otlp;
  if (http === null) throw new ConfigError('receivers.otlp.protocols has no http: give tracehouse demo --endpoint');
  return `http://${reachableHost(http.host)}:${http.port}`;
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
  if (what !== 'rollups' && what !== 'replay' && what !== 'cost') throw new ConfigError('backfill needs "rollups", "replay" or "cost"');
  const range = { from: time(from, '--from'), to: time(to, '--to', new Date()) };
  if (range.to <= range.from) throw new ConfigError('--to must be after --from');
  if (what !== 'replay' && config.exporters.clickhouse.cluster !== '') {
    throw new ConfigError(`backfill ${what} rewrites tables in place on one server; with exporters.clickhouse.cluster (CLICKHOUSE_CLUSTER) set, only backfill replay is supported`);
  }
  const log = createLogger('backfill');
  const ch = await openClickHouse(config.exporters.clickhouse, log);
  try {
    await migrate(ch.client, config.exporters.clickhouse, log);
    if (what === 'rollups') return await backfillRollups(ch.client, config.exporters.clickhouse.database, range);
    if (what === 'cost') return void (await backfillCost(ch.client, config.exporters.clickhouse.database, range, new PriceTable(config.processors.genai.prices)));
    if (config.kafka.brokers.length === 0) throw new ConfigError('backfill replay needs KAFKA_BROKERS');
    await replayKafka({
      kafka: createKafka(config.kafka.brokers, `${config.kafka.clientId}-replay`, log),
      cfg: config.receivers.kafka,
      fromMs: range.from.getTime(),
      batchRows: config.processors.batch.maxRows,
      normalizer: new Normalizer({ ...config.processors.genai, tenancy: config.processors.attributes }),
      sink: new TelemetrySink(ch, config.exporters.clickhouse.database, new Registry(), log),
      client: ch.client,
      database: config.exporters.clickhouse.database,
    });
  } finally {
    await ch.close();
  }
}

async function runMigrate(config: Config): Promise<void> {
  const log = createLogger('migrate');
  const ch = await openClickHouse(config.exporters.clickhouse, log);
  try {
    const applied = await migrate(ch.client, config.exporters.clickhouse, log);
    log.info(applied.length > 0 ? 'migrations applied' : 'schema is up to date', { applied, location: ch.location });
  } finally {
    await ch.close();
  }
}

/** The local server in the foreground, until SIGTERM / Ctrl-C. */
async function runClickHouse(config: Config): Promise<void> {
  if (config.exporters.clickhouse.url !== '') throw new ConfigError('CLICKHOUSE_URL is set: `tracehouse clickhouse` runs the local server, unset it first');
  const log = createLogger('clickhouse');
  const { server, endpoint } = await localClickHouse(config.exporters.clickhouse, log);
  if (server === undefined) throw new Error(`a local ClickHouse server for ${config.exporters.clickhouse.dataDir} already answers at ${endpoint.url}`);
  exitOnSignal(() => server.stop(), log);
  process.stderr.write(`ClickHouse server at ${server.url} (native port ${server.tcpPort}), data in ${config.exporters.clickhouse.dataDir}; users: npx tracehouse clickhouse credentials\n`);
}

async function runStack(stack: LocalStack, [action, ...names]: string[], lines: number, follow: boolean): Promise<void> {
  switch (action) {
    case 'up':
      process.stdout.write(`${formatStatus(await stack.up())}\n`);
      return;
    case 'down':
      return stack.down();
    case 'status': {
      const rows = await stack.status();
      process.stdout.write(`${formatStatus(rows)}\n`);
      if (rows.some((r) => r.state !== 'ready')) process.exitCode = 1;
      return;
    }
    case 'logs': {
      const unknown = names.filter((n) => !COMPONENTS.includes(n as ComponentName));
      if (unknown.length > 0) throw new ConfigError(`stack logs: unknown component ${unknown.join(', ')} (${COMPONENTS.join(', ')})`);
      if (!(Number.isInteger(lines) && lines >= 0)) throw new ConfigError('--lines must be a non-negative integer');
      const chosen = names.length > 0 ? (names as ComponentName[]) : COMPONENTS;
      for (const name of chosen) for (const line of stack.tail(name, lines)) process.stdout.write(`${name.padEnd(10)} | ${line}\n`);
      if (follow) stack.follow(chosen, (line) => process.stdout.write(`${line}\n`));
      return;
    }
    default:
      throw new ConfigError(`stack needs up, down, status or logs, got ${JSON.stringify(action ?? '')}`);
  }
}

function printCredentials(config: Config): void {
  if (config.exporters.clickhouse.url !== '') throw new ConfigError('CLICKHOUSE_URL is set: its users are managed by that server');
  const { passwords } = localUsers(config.exporters.clickhouse);
  for (const [user, password] of Object.entries(passwords)) process.stdout.write(`${user}\t${password}\n`);
}

const FORMAT_CLAUSE = /\bFORMAT\s+[A-Za-z]+\s*;?\s*$/i;

/** As the read-only user: CLICKHOUSE_URL's configured user, or the local server's reader. */
async function runCostExplain(config: Config, id: string): Promise<void> {
  const ch = await openClickHouse(config.exporters.clickhouse, createLogger('cost', 30), READER_USER);
  try {
    process.stdout.write(await explainCost(ch.client, config.exporters.clickhouse.database, id.toLowerCase(), new PriceTable(config.processors.genai.prices)));
  } finally {
    await ch.close();
  }
}

async function runQuery(config: Config, sql: string, format: string): Promise<void> {
  const statement = sql.trim().replace(/;\s*$/, '');
  if (statement === '') throw new ConfigError('query needs the SQL as an argument');
  if (!/^[A-Za-z]+$/.test(format)) throw new ConfigError(`--format must be a ClickHouse format name such as JSONEachRow, got ${JSON.stringify(format)}`);
  const ch = await openClickHouse(config.exporters.clickhouse, createLogger('query', 30), READER_USER);
  try {
    const result = await ch.client.exec({ query: FORMAT_CLAUSE.test(statement) ? statement : `${statement}\nFORMAT ${format}` });
    for await (const chunk of result.stream) process.stdout.write(chunk as Buffer);
  } catch (err) {
    throw new Error(`query failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await ch.close();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tracehouse: ${message}\n`);
  if (!(err instanceof ConfigError) && err instanceof Error && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
