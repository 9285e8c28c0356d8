// `tracehouse stack up|status|logs|down`: the compose topology as local processes (a KRaft broker,
// the ClickHouse server, the receiver, the consumer), on ports of this test's choosing. SDK traces
// go receiver -> Kafka -> consumer -> ClickHouse and are read back with `tracehouse query`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { exportAgentRuns } from '../harness/agent-traces.js';
import { waitFor } from '../harness/pipeline.js';
import { freePort, portFree } from '../../services/shared/ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/services/cli.js');
const execFileP = promisify(execFile);

/** A free port whose successor is free too (the broker's controller, the consumer's admin port). */
async function freePair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await portFree(port + 1))) return port;
  }
}

/** Processes whose command line or environment names `dir`: what the stack left behind. */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) || readFileSync(`/proc/${p}/environ`, 'utf8').includes(`TRACEHOUSE_DATA_DIR=${dir}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('tracehouse stack (local processes, no Docker)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-stack-'));
  let env: NodeJS.ProcessEnv;
  let otlpPort: number;
  const stack = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [CLI, 'stack', ...args], { cwd: ROOT, env, timeout: 240_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
  const status = async (): Promise<Record<string, { state: string; pid: string }>> => {
    const { stdout } = await stack('status');
    const rows = stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/));
    return Object.fromEntries(rows.map(([name, state, pid]) => [name!, { state: state!, pid: pid! }]));
  };

  before(async () => {
    otlpPort = await freePort();
    env = {
      ...process.env,
      TRACEHOUSE_DATA_DIR: dataDir,
      KAFKA_BROKERS: `127.0.0.1:${await freePair()}`,
      CLICKHOUSE_HTTP_PORT: String(await freePort()),
      CLICKHOUSE_TCP_PORT: String(await freePort()),
      OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`,
      OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
      TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${await freePair()}`,
      BATCH_TIMEOUT: '200ms',
      LOG_LEVEL: 'info',
    };
    for (const v of ['CLICKHOUSE_URL', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD']) delete env[v];
  });
  after(async () => {
    await stack('down');
    for (const pid of processesUsing(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('up starts the four components in order and prints a status table where all are ready', async () => {
    const up = await stack('up');
    assert.equal(up.code, 0, up.stderr);
    const order = ['kafka', 'clickhouse', 'receiver', 'consumer'].map((c) => up.stdout.indexOf(`${c}: ready`));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), up.stdout);
    assert.match(up.stdout, /COMPONENT\s+STATE\s+PID\s+ENDPOINT\s+LOG/);
    const rows = await status();
    assert.deepEqual(Object.keys(rows), ['kafka', 'clickhouse', 'receiver', 'consumer']);
    for (const [name, row] of Object.entries(rows)) assert.equal(row.state, 'ready', `${name}: ${JSON.stringify(row)}`);
  });

  it('stores SDK traces through Kafka and answers `tracehouse query`', async () => {
    assert.ok(await exportAgentRuns(`http://127.0.0.1:${otlpPort}`, 5, { 'service.name': 'stack-agent', 'tenant.id': 'stack' }, { gzip: true }));
    const count = async (): Promise<string> => {
      const { stdout } = await execFileP(process.execPath, [CLI, 'query', "SELECT count() AS n, uniqExact(trace_id) AS traces FROM telemetry.spans_raw WHERE tenant_id = 'stack'"], { cwd: ROOT, env });
      return stdout.trim();
    };
    await waitFor(async () => (await count()) === '{"n":"25","traces":"5"}', 30_000, 'the 25 spans of 5 runs in spans_raw');
  });

  it('up again leaves running components as they are; a killed one is shown stopped and started again', async () => {
    const before = await status();
    process.kill(Number(before.receiver!.pid), 'SIGKILL');
    await waitFor(async () => (await status()).receiver!.state === 'stopped', 10_000, 'the receiver shown stopped');
    assert.equal((await stack('status')).code, 1, 'status exits 1 while a component is not ready');
    const up = await stack('up');
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /kafka: already running/);
    assert.match(up.stdout, /receiver: starting/);
    const now = await status();
    for (const c of ['kafka', 'clickhouse', 'consumer']) assert.equal(now[c]!.pid, before[c]!.pid, `${c} kept its process`);
    assert.notEqual(now.receiver!.pid, before.receiver!.pid);
    assert.equal(now.receiver!.state, 'ready');
  });

  it('a port held by another process is refused with the component and the port named', async () => {
    const other = { ...env, TRACEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tracehouse-stack-other-')) };
    try {
      const { stderr } = await execFileP(process.execPath, [CLI, 'stack', 'up'], { cwd: ROOT, env: other }).catch((e: { stderr: string }) => e);
      assert.match(stderr, new RegExp(`kafka: 127\\.0\\.0\\.1:${env.KAFKA_BROKERS!.split(':')[1]} is in use by another process`));
    } finally {
      rmSync(other.TRACEHOUSE_DATA_DIR, { recursive: true, force: true });
    }
  });

  it('logs prints each component log with its name; an unknown component is an error', async () => {
    const { stdout } = await stack('logs', '--lines', '5');
    for (const c of ['kafka', 'clickhouse', 'receiver', 'consumer']) assert.match(stdout, new RegExp(`^${c}\\s+\\| `, 'm'));
    assert.match(stdout, /^consumer\s+\| \{.*"msg":"admin endpoint listening"/m);
    const bad = await stack('logs', 'grafana');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown component grafana/);
  });

  it('down stops every process of the stack, the ClickHouse server included', async () => {
    const down = await stack('down');
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(down.stdout.trim().split('\n'), ['consumer: stopped', 'receiver: stopped', 'clickhouse: stopped', 'kafka: stopped']);
    for (const row of Object.values(await status())) assert.equal(row.state, 'stopped');
    assert.deepEqual(processesUsing(dataDir), []);
    // Consumer and receiver drained on SIGTERM: their logs end with a clean stop.
    for (const c of ['receiver', 'consumer']) assert.match(readFileSync(join(dataDir, 'logs', `${c}.log`), 'utf8'), /"msg":"stopped cleanly"/);
  });
});
