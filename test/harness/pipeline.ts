// Test helpers: a Tracehouse instance in this test process on free ports, with its own Kafka topic
// and consumer group, on the test file's ClickHouse server (clickhouse-server.ts; tests keep apart
// by tenant and trace ids, or by database).
import { randomUUID } from 'node:crypto';
import { type Mode, type RunningApp, startApp } from '../../services/app.js';
import { type Config, resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { registerKafkaCodecs } from '../../services/shared/kafka-codecs.js';

// Tests read what the services wrote (lz4 batches by default) with kafkajs clients of their own.
registerKafkaCodecs();

export interface TestPipeline {
  app: RunningApp;
  config: Config;
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  stop(): Promise<void>;
}

/** The test file's ClickHouse server as environment variables, with `database` when given. */
export function clickhouseEnv(database?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of ['CLICKHOUSE_URL', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD']) if (process.env[v] !== undefined) env[v] = process.env[v]!;
  if (database !== undefined) env.CLICKHOUSE_DATABASE = database;
  return env;
}

/** Config for a test: unique topic/group, ports chosen by the OS. */
export function testConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Config {
  const id = randomUUID().slice(0, 8);
  const doc = {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } }, kafka: { topic: `spans-${id}`, group_id: `group-${id}`, logs: { topic: `logs-${id}` } } },
    processors: { batch: { send_batch_size: 500, timeout: '200ms' } },
    exporters: { kafka: { topic: `spans-${id}`, topic_partitions: 6, logs: { topic: `logs-${id}` } } },
    service: { telemetry: { metrics: { address: '127.0.0.1:0' } } },
  };
  deepMerge(doc, overrides);
  const passThrough = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, ...clickhouseEnv() };
  return resolveConfig(doc, { ...passThrough, ...env });
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof existing === 'object' && existing !== null) {
      deepMerge(existing as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = value;
  }
}

export async function startTestPipeline(mode: Mode, config: Config): Promise<TestPipeline> {
  const app = await startApp(mode, config, createLogger('test', 40));
  const ch = app.clickhouse;
  return {
    app,
    config,
    url: `http://127.0.0.1:${app.otlpPort}`,
    async query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
      if (!ch) throw new Error('this pipeline has no ClickHouse');
      const rs = await ch.client.query({ query: sql, format: 'JSONEachRow', query_params: params });
      return rs.json<T>();
    },
    stop: () => app.stop(),
  };
}

/** Polls until check() returns true; throws when the timeout passes first. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
