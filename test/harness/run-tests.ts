// `npm test`: starts a real Kafka broker (unless KAFKA_BROKERS is set), then runs every
// *.test.js under dist/test with node's test runner, one process per file, each with a ClickHouse
// server of its own (clickhouse-server.ts, unless CLICKHOUSE_URL is set), and stops the broker afterwards.
// TRACEHOUSE_TESTCONTAINERS=1 takes both from containers instead, when a container runtime answers.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLauncher } from '../../services/shared/clickhouse/server.js';
import { type KafkaBroker, startKafkaBroker } from '../../services/stack/kafka-broker.js';
import { type Containers, startContainers } from './containers.js';

const testRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(testRoot, '../..');

function testFiles(filter: string[]): string[] {
  const all = (readdirSync(testRoot, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(testRoot, f))
    .sort();
  return filter.length === 0 ? all : all.filter((f) => filter.some((pat) => relative(testRoot, f).includes(pat)));
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  if (files.length === 0) throw new Error('no test files matched');
  const limitMs = Number(process.env.TEST_RUN_TIMEOUT_MS ?? 45 * 60_000);
  // A NaN or zero limit would stop the run at once, with a message blaming a test file.
  if (!(limitMs > 0)) throw new Error(`TEST_RUN_TIMEOUT_MS must be a positive number of milliseconds, got ${process.env.TEST_RUN_TIMEOUT_MS}`);
  let broker: KafkaBroker | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' };
  let containers: Containers | undefined;
  if (env.TRACEHOUSE_TESTCONTAINERS === '1') {
    containers = await startContainers();
    if (containers.available) {
      Object.assign(env, containers.env);
      process.stdout.write(`# testcontainers: Kafka ${containers.env.KAFKA_BROKERS}, ClickHouse ${containers.env.CLICKHOUSE_URL}\n`);
    } else process.stdout.write(`# TRACEHOUSE_TESTCONTAINERS=1 but no container runtime answers (${containers.reason}): using local processes\n`);
  }
  // The receiver's librdkafka producer is tested too; the script builds it once (scripts/kafka/native-client.sh).
  const native = spawnSync('bash', [join(ROOT, 'scripts/kafka/native-client.sh')], { stdio: 'inherit' });
  if (native.status !== 0) throw new Error('scripts/kafka/native-client.sh failed: cannot install the librdkafka client the tests use');
  // The OpenTelemetry Python SDK the peer tests export from (scripts/peers/python-sdk.sh, a venv in the checkout).
  const python = spawnSync('bash', [join(ROOT, 'scripts/peers/python-sdk.sh')], { stdio: 'inherit' });
  if (python.status !== 0) throw new Error('scripts/peers/python-sdk.sh failed: cannot install the OpenTelemetry Python SDK the tests use');
  // Built once here, not by the first test files racing to start their servers.
  if (!env.CLICKHOUSE_URL) ensureLauncher();
  if (!env.KAFKA_BROKERS) {
    const started = Date.now();
    broker = await startKafkaBroker();
    env.KAFKA_BROKERS = broker.brokers;
    process.stdout.write(`# kafka broker ${broker.brokers} started in ${Date.now() - started} ms\n`);
  } else process.stdout.write(`# using KAFKA_BROKERS=${env.KAFKA_BROKERS}\n`);
  try {
    const concurrency = process.env.TEST_CONCURRENCY ?? '2';
    const preload = join(testRoot, 'harness/clickhouse-server.js');
    // A test that hangs fails after TEST_TIMEOUT_MS instead of holding CI until its own limit. No
    // --test-force-exit: under it Node drops some finished tests' verdicts from the report and still
    // exits 0 (nodejs/node#64833: 247 of 252 reported here once). A file whose failed test left a
    // service running would then never end, so the whole run has a limit of its own.
    const timeout = `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 600_000}`;
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, timeout, '--test-reporter=spec', '--import', preload, ...files], { stdio: 'inherit', env });
    const watchdog = setTimeout(() => {
      process.stderr.write(`test harness: the run passed TEST_RUN_TIMEOUT_MS (${limitMs} ms): a test file did not end (a service left running?); stopping it\n`);
      child.kill('SIGKILL');
    }, limitMs);
    try {
      return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
    } finally {
      clearTimeout(watchdog);
    }
  } finally {
    await broker?.destroy();
    if (containers?.available) await containers.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test harness: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
