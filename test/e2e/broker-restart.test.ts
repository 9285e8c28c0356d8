// Exactly-once across Kafka broker restarts: a steady producer writes one message per trace while
// `tracehouse consumer` processes read the topic; the broker is stopped (SIGTERM) and started again
// several times under load, with one consumer, with two consumers in the group, and with consumers
// SIGKILLed around a restart, all writing to the test file's ClickHouse server; a ClickHouse server frozen
// past the request timeout (SIGSTOP); and a ClickHouse
// server SIGKILLed twice under load, and one that is not up yet when the consumer starts. Afterwards every
// produced span is in spans_raw exactly once and every rollup agrees with spans_raw. Uses a broker of
// its own so it can restart it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Kafka, type Producer } from 'kafkajs';
import { localClickHouse, localUsers, openClickHouse } from '../../services/shared/clickhouse/client.js';
import type { ClickHouseServer } from '../../services/shared/clickhouse/server.js';
import { ADMIN_USER } from '../../services/shared/clickhouse/users.js';
import { createLogger } from '../../services/shared/log.js';
import { backfillRollups } from '../../services/ops/backfill.js';
import { resolveConfig } from '../../services/config.js';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { generate } from '../harness/generated-traces.js';
import { freePort } from '../../services/shared/ports.js';
import { type KafkaBroker, startKafkaBroker } from '../../services/stack/kafka-broker.js';
import { clickhouseEnv, waitFor } from '../harness/pipeline.js';
import { createTopicsWithLeaders } from '../../services/shared/kafka.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const SPANS_PER_TRACE = 10;

interface Consumer {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

describe('consumers across Kafka broker restarts', () => {
  let broker: KafkaBroker;

  before(async () => {
    broker = await startKafkaBroker();
  });
  after(async () => {
    await broker?.destroy();
  });

  /** One scenario: its own topic, group and database; `script` runs while the producer writes. */
  /**
   * `serverKilled`: the ClickHouse server itself was SIGKILLed mid-INSERT. spans_raw and events_raw must
   * still be exact; a rollup may have counted a batch twice (seen once in three runs; most likely a view's
   * part committed before its dedup-log entry, so the retried batch is dropped from spans_raw and not from
   * that rollup), so the rollups must have lost nothing and must equal spans_raw once `backfill
   * rollups` rebuilt them.
   */
  async function scenario(name: string, consumers: number, script: (ctx: { start: () => Consumer; running: Consumer[] }) => Promise<void>, server: Record<string, string> = {}, serverKilled = false): Promise<void> {
    const id = `${name}-${Date.now().toString(36)}`;
    const topic = `restart-${id}`;
    const group = `restart-group-${id}`;
    const database = `restart_${name}_${Date.now().toString(36)}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-restart-'));
    const kafka = new Kafka({ brokers: [broker.brokers], clientId: 'restart-test', logLevel: 0, retry: { retries: 2, initialRetryTime: 200 } });
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 3 }]);
    await admin.disconnect();

    const logs: string[] = [];
    const running: Consumer[] = [];
    const start = (): Consumer => {
      const child = spawn(process.execPath, [CLI, 'consumer'], {
        cwd: ROOT,
        env: { ...process.env, KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: group, KAFKA_SESSION_TIMEOUT: '6s', TRACEHOUSE_DATA_DIR: dataDir, ...clickhouseEnv(database), ...server, TRACEHOUSE_ADMIN_ENDPOINT: '127.0.0.1:0', BATCH_MAX_ROWS: '400', BATCH_TIMEOUT: '300ms', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      const c: Consumer = { child, log: () => log, exited: new Promise((r) => child.once('exit', (code) => { logs.push(log); r(code); })) };
      running.push(c);
      return c;
    };

    // The producer sends each group of traces until it is acked, as the receiver's clients do; a
    // resend after a lost ack may store a message twice in Kafka, so the check below counts the
    // topic's messages rather than assuming one per trace.
    const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let produced = 0;
    let producing = true;
    const produceLoop = (async () => {
      let seq = 0;
      while (producing) {
        const traces = generate(5, seq + 1, seq);
        const messages = traces.map((t) => ({ key: t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId, value: Buffer.from(encodeTracesProtobuf(t)) }));
        for (;;) {
          try {
            await producer.send({ topic, acks: -1, messages });
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        seq += traces.length;
        produced = seq;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    try {
      for (let i = 0; i < consumers; i++) start();
      await script({ start, running });
      producing = false;
      await produceLoop;
      await producer.disconnect();
      // Every consumer still alive drains to the end of the topic, then stops on SIGTERM.
      await waitFor(() => committedAll(kafka, topic, group), 120_000, 'the group committed the whole topic').catch((err: Error) => {
        throw new Error(`${err.message}; consumer logs:\n${running.map((c) => c.log().slice(-4000)).join('\n---\n')}`);
      });
      for (const c of running) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
      for (const c of running) await c.exited;
    } finally {
      producing = false;
      for (const c of running) c.child.kill('SIGKILL');
    }

    const ch = await openClickHouse(resolveConfig({}, { ...clickhouseEnv(database), ...server }).exporters.clickhouse);
    try {
      const q = async (sql: string): Promise<Record<string, string>> => ((await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json()) as Array<Record<string, string>>)[0]!;
      const spans = produced * SPANS_PER_TRACE;
      const messages = await topicMessages(kafka, topic);
      const all = logs.join('\n');
      assert.deepEqual(await q(`SELECT count() AS rows FROM ${database}.spans_raw`), { rows: String(messages * SPANS_PER_TRACE) }, `every message's spans stored exactly once (${name}); consumer logs:\n${all.slice(-6000)}`);
      assert.deepEqual(await q(`SELECT uniqExact(span_id) AS spans FROM ${database}.spans_raw`), { spans: String(spans) }, 'every produced span is stored');
      // Each generated trace carries one gen_ai.choice event on each of its 5 LLM spans.
      assert.deepEqual(await q(`SELECT count() AS n FROM ${database}.events`), { n: String(messages * 5) });
      if (serverKilled) {
        assert.ok(Number((await q(`SELECT sum(calls) AS n FROM ${database}.spans_minute`)).n) >= spans, 'the rollups lost nothing');
        await backfillRollups(ch.client, database, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) });
      }
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.spans_minute`), { n: String(spans) });
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.llm_minute`), await q(`SELECT count() AS n FROM ${database}.spans_raw WHERE gen_ai_operation = 'chat'`));
      assert.deepEqual(await q(`SELECT sum(calls) AS n FROM ${database}.tool_minute`), await q(`SELECT count() AS n FROM ${database}.spans_raw WHERE gen_ai_operation = 'execute_tool'`));
      assert.deepEqual(await q(`SELECT sum(span_count) AS n, uniqExact(trace_id) AS traces FROM ${database}.trace_index`), { n: String(spans), traces: String(produced) });
    } finally {
      await ch.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  async function restartBroker(downMs: number): Promise<void> {
    await broker.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await broker.start();
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('one consumer, the broker restarted three times under load', async () => {
    await scenario('one', 1, async () => {
      for (const at of [6000, 6000, 6000]) {
        await sleep(at);
        await restartBroker(4000);
      }
      await sleep(4000);
    });
  });

  /** A ClickHouse server of the scenario's own (so it can be killed or frozen), with the consumer's env pointing at it. */
  async function withOwnServer(run: (server: ClickHouseServer, env: Record<string, string>) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'tracehouse-restart-ch-'));
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
    const { endpoint, server } = await localClickHouse(cfg, createLogger('restart-test', 40));
    try {
      await run(server!, { CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_USER: endpoint.username, CLICKHOUSE_PASSWORD: endpoint.password });
    } finally {
      if (server!.pid !== undefined) process.kill(server!.pid, 'SIGCONT');
      await server!.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('a ClickHouse server SIGKILLed twice under load (its supervisor restarts it)', async () => {
    await withOwnServer((server, env) =>
      scenario(
        'chkill',
        1,
        async () => {
          for (const wait of [6000, 6000]) {
            await sleep(wait);
            const pid = server.pid!;
            process.kill(pid, 'SIGKILL');
            await waitFor(async () => server.pid !== pid && (await server.ping()), 60_000, 'the ClickHouse server restarted');
          }
          await sleep(4000);
        },
        env,
        true,
      ),
    );
  });

  it('a ClickHouse server that stalls past the request timeout (SIGSTOP 8 s, twice) under load', async () => {
    await withOwnServer((server, env) =>
      scenario(
        'chslow',
        1,
        async ({ running }) => {
          for (const wait of [5000, 5000]) {
            await sleep(wait);
            // Frozen, not dead: connections stay open and requests hang until the client's timeout.
            process.kill(server.pid!, 'SIGSTOP');
            await sleep(8000);
            process.kill(server.pid!, 'SIGCONT');
          }
          await sleep(4000);
          assert.match(running[0]!.log(), /"msg":"insert failed; retrying".*Timeout/, 'INSERTs timed out and were retried');
        },
        { ...env, CLICKHOUSE_TIMEOUT: '2s' },
      ),
    );
  });

  it('a consumer started while its ClickHouse server is down waits for it, then stores everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracehouse-restart-ch-'));
    const port = await freePort();
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, CLICKHOUSE_HTTP_PORT: String(port), CLICKHOUSE_TCP_PORT: '0' }).exporters.clickhouse;
    const password = localUsers(cfg).passwords[ADMIN_USER]!;
    let server: ClickHouseServer | undefined;
    try {
      await scenario(
        'late',
        1,
        async ({ running }) => {
          await sleep(6000);
          assert.match(running[0]!.log(), /ClickHouse is not reachable yet; waiting/);
          assert.equal(running[0]!.child.exitCode, null, 'the consumer waits instead of exiting');
          server = (await localClickHouse(cfg, createLogger('restart-test', 40))).server;
          await sleep(5000);
        },
        { CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CLICKHOUSE_USER: ADMIN_USER, CLICKHOUSE_PASSWORD: password },
      );
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two consumers in the group, the broker restarted twice under load', async () => {
    await scenario('two', 2, async ({ running }) => {
      await waitFor(async () => running.every((c) => c.log().includes('joined consumer group')), 60_000, 'both joined');
      await sleep(5000);
      await restartBroker(4000);
      await sleep(6000);
      await restartBroker(2000);
      await sleep(5000);
    });
  });

  it('consumers SIGKILLed just before, during and just after broker restarts', async () => {
    await scenario('killed', 1, async ({ start, running }) => {
      const killLatest = async (): Promise<void> => {
        const c = running[running.length - 1]!;
        c.child.kill('SIGKILL');
        await c.exited;
      };
      await sleep(5000);
      await killLatest(); // just before the broker stops
      await broker.stop();
      start();
      await sleep(2500);
      await killLatest(); // while it is down
      start();
      await sleep(1500);
      await broker.start();
      await sleep(1500);
      await killLatest(); // just after it is back
      start();
      await sleep(5000);
      await restartBroker(3000);
      await sleep(1000);
      await killLatest();
      start();
      await sleep(5000);
    });
  });
});

async function topicMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function committedAll(kafka: Kafka, topic: string, group: string): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends.every((e) => committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
