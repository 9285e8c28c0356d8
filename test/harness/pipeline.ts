// Test helpers: a Tracehouse instance in this test process on free ports, with its own embedded
// ClickHouse data directory (or CLICKHOUSE_URL) and its own Kafka topic and consumer group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { type Mode, type RunningApp, startApp } from '../../services/app.js';
import { type Config, resolveConfig } from '../../services/shared/config.js';
import { createLogger } from '../../services/shared/log.js';

export interface TestPipeline {
  app: RunningApp;
  config: Config;
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  stop(): Promise<void>;
}

/** Config for a test: unique topic/group/data dir, ports chosen by the OS. */
export function testConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Config {
  const id = randomUUID().slice(0, 8);
  const doc = {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } }, kafka: { topic: `spans-${id}`, group_id: `group-${id}` } },
    processors: { batch: { send_batch_size: 500, timeout: '200ms' } },
    exporters: { kafka: { topic: `spans-${id}`, topic_partitions: 6 }, clickhouse: { data_dir: mkdtempSync(join(tmpdir(), 'tracehouse-ch-')) } },
    service: { telemetry: { metrics: { address: '127.0.0.1:0' } } },
    ...overrides,
  };
  const passThrough = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, CLICKHOUSE_URL: process.env.CLICKHOUSE_URL };
  return resolveConfig(doc, { ...passThrough, ...env });
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
    async stop() {
      await app.stop();
      if (!config.clickhouse.url) rmSync(config.clickhouse.dataDir, { recursive: true, force: true });
    },
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
