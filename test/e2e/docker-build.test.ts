// The Docker path without a Docker engine: the Dockerfile's build is replayed step by step in a
// scratch directory, from a clean clone of this repository as the build context (.dockerignore
// applied): every COPY is done, every RUN executed with its own flags on this machine's Node 20, in
// each stage's WORKDIR with the stage's ENV (an empty npm cache, as in a fresh image). Then the final
// stage's ENTRYPOINT is started with each compose `command` (migrate, receiver, consumer) and the
// environment compose gives it, against the suite's Kafka broker and a ClickHouse server carrying the
// stack's deploy/clickhouse/users.xml; each must pass the compose healthcheck (/readyz) or, for the
// one-shot migrate, exit 0; the ClickHouse and Kafka healthchecks run against that server and the
// broker. Any step that fails fails the test. Not replayed: the base image itself
// (node:20-bookworm-slim; this machine's Node 20 stands in for it) and `USER node`.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ClickHouseServer } from '../../services/shared/clickhouse/server.js';
import { ADMIN_USER } from '../../services/shared/clickhouse/users.js';
import { createLogger } from '../../services/shared/log.js';
import { freePort } from '../../services/shared/ports.js';
import { waitFor } from '../harness/pipeline.js';
import { adminOnlyUsersXml } from '../harness/stack-users.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const m = /^(\w+)\s+(.*)$/.exec(pending);
    assert.ok(m, `Dockerfile line ${start}: cannot parse "${pending}"`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
    pending = '';
  });
  return out;
}

const json = (s: string): string[] => JSON.parse(s) as string[];

/** The build context a fresh clone gives, minus what .dockerignore excludes. */
function buildContext(into: string): string {
  const clone = join(into, 'context');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
  const ignored = readFileSync(join(clone, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const entry of [...ignored, '.git']) rmSync(join(clone, entry), { recursive: true, force: true });
  return clone;
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
}

/** Replays every instruction; the container path /x maps to <stage root>/x. */
function replay(instructions: Instruction[], context: string, scratch: string, npmCache: string): Stage[] {
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const inStage = (s: Stage, p: string): string => join(s.root, p.startsWith('/') ? p : join(s.workdir, p));
  for (const ins of instructions) {
    const where = `Dockerfile line ${ins.line} (${ins.op} ${ins.args})`;
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, where);
      assert.match(m[1]!, /^node:20\b/, `${where}: this replay stands in Node ${process.versions.node} for the base image`);
      stage = { name: m[2] ?? String(stages.length), root: join(scratch, `stage-${stages.length}`), workdir: '/', env: {}, entrypoint: [], cmd: [] };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    assert.ok(stage, `${where}: before any FROM`);
    switch (ins.op) {
      case 'WORKDIR':
        stage.workdir = ins.args;
        mkdirSync(inStage(stage, '.'), { recursive: true });
        break;
      case 'ENV': {
        const m = /^(\w+)=(.*)$/.exec(ins.args);
        assert.ok(m, where);
        stage.env[m[1]!] = m[2]!;
        break;
      }
      case 'COPY': {
        const parts = ins.args.split(/\s+/);
        const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
        const dest = parts.pop()!;
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined) assert.ok(source, `${where}: no stage ${from}`);
        for (const src of parts) {
          const path = source ? join(source.root, src) : join(context, src);
          assert.ok(existsSync(path), `${where}: ${src} is not in the ${source ? `stage ${from}` : 'build context of a fresh clone'}`);
          const target = dest.endsWith('/') || parts.length > 1 ? join(inStage(stage, dest), src.split('/').pop()!) : inStage(stage, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(path, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const run = spawnSync('sh', ['-c', ins.args], { cwd: inStage(stage, '.'), env: { PATH: process.env.PATH!, HOME: join(scratch, 'home'), npm_config_cache: npmCache, npm_config_update_notifier: 'false', ...stage.env }, encoding: 'utf8', timeout: 600_000 });
        assert.equal(run.status, 0, `${where} failed:\n${(run.stderr || run.stdout).slice(-3000)}`);
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = json(ins.args);
        break;
      case 'CMD':
        stage.cmd = json(ins.args);
        break;
      case 'USER':
      case 'EXPOSE':
        break;
      default:
        assert.fail(`${where}: this replay does not know ${ins.op}`);
    }
  }
  return stages;
}

describe('the Dockerfile and compose stack, replayed without a Docker engine', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tracehouse-docker-'));
  const log = createLogger('docker-test', 40);
  let final: Stage;
  let clickhouse: ClickHouseServer;
  let adminPassword: string;
  const children: ChildProcess[] = [];
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string[]; environment?: Record<string, string | number>; healthcheck?: { test: string[] } }> };
  const secrets = { CLICKHOUSE_INGEST_PASSWORD: 'ingest-pw', CLICKHOUSE_READER_PASSWORD: 'reader-pw' };

  before(async () => {
    const stages = replay(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), buildContext(scratch), scratch, join(scratch, 'npm-cache'));
    final = stages[stages.length - 1]!;
    const dataDir = join(scratch, 'clickhouse');
    adminPassword = 'docker-replay-admin';
    clickhouse = await ClickHouseServer.start({ dataDir, httpPort: 0, tcpPort: 0, usersXml: adminOnlyUsersXml(adminPassword), usersFiles: [join(ROOT, 'deploy/clickhouse/users.xml')], env: secrets, log });
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await clickhouse?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The service's compose environment, its ${VAR:-default} values resolved, pointed at this machine's broker and server. */
  function serviceEnv(service: string, adminPort: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(compose.services[service]!.environment ?? {})) {
      env[k] = String(v).replace(/\$\{(\w+):-([^}]*)\}/g, (_m, name: string, fallback: string) => (secrets as Record<string, string>)[name] ?? fallback);
    }
    assert.equal(env.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(env.CLICKHOUSE_URL, 'http://clickhouse:8123');
    env.KAFKA_BROKERS = process.env.KAFKA_BROKERS!;
    env.CLICKHOUSE_URL = clickhouse.url;
    // The compose admin is the image's CLICKHOUSE_USER; here the server's own admin stands in for it.
    if (env.CLICKHOUSE_USER === 'tracehouse') Object.assign(env, { CLICKHOUSE_USER: ADMIN_USER, CLICKHOUSE_PASSWORD: adminPassword });
    env.TRACEHOUSE_ADMIN_ENDPOINT = `127.0.0.1:${adminPort}`;
    env.OTLP_HTTP_ENDPOINT = '127.0.0.1:0';
    env.OTLP_GRPC_ENDPOINT = '127.0.0.1:0';
    env.KAFKA_TOPIC = 'docker-replay';
    return { PATH: process.env.PATH!, ...final.env, ...env };
  }

  function startService(service: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
    const [bin, ...args] = [...final.entrypoint, ...compose.services[service]!.command!];
    const child = spawn(bin!, args, { cwd: join(final.root, final.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    return { child, output: () => output };
  }

  it('builds both stages: every COPY from a fresh clone, every RUN with its flags', () => {
    assert.deepEqual(final.entrypoint, ['node', 'dist/services/cli.js']);
    assert.ok(existsSync(join(final.root, final.workdir, 'dist/services/cli.js')));
    assert.ok(!existsSync(join(final.root, final.workdir, 'node_modules/typescript')), 'the final stage has no dev dependencies');
  });

  it("passes compose's ClickHouse healthcheck against the server", () => {
    const check = compose.services.clickhouse!.healthcheck!.test;
    assert.equal(check[0], 'CMD-SHELL');
    const run = spawnSync('sh', ['-c', check[1]!.replace('http://localhost:8123', clickhouse.url)], { timeout: 10_000 });
    assert.equal(run.status, 0, String(run.stderr));
  });

  it("passes compose's Kafka healthcheck against the suite's broker (kafka-topics.sh's class from the fetched jars)", () => {
    const check = compose.services.kafka!.healthcheck!.test;
    assert.equal(check[0], 'CMD-SHELL');
    const lib = join(process.env.TRACEHOUSE_KAFKA_HOME ?? join(ROOT, '.kafka'), 'lib');
    const command = check[1]!.replace('/opt/kafka/bin/kafka-topics.sh', `java -cp '${lib}/*' org.apache.kafka.tools.TopicCommand`).replace('localhost:9092', process.env.KAFKA_BROKERS!);
    assert.notEqual(command, check[1], 'the healthcheck runs kafka-topics.sh against localhost:9092');
    const run = spawnSync('sh', ['-c', command], { timeout: 60_000 });
    assert.equal(run.status, 0, String(run.stderr));
  });

  it('runs the one-shot migrate job to completion', async () => {
    const job = startService('clickhouse-init', serviceEnv('clickhouse-init', await freePort()));
    const code = await new Promise<number | null>((r) => job.child.once('exit', (c) => r(c)));
    assert.equal(code, 0, job.output().slice(-3000));
  });

  for (const service of ['receiver', 'consumer']) {
    it(`starts the ${service} as compose does and passes its compose healthcheck`, async () => {
      const adminPort = await freePort();
      const svc = startService(service, serviceEnv(service, adminPort));
      const check = compose.services[service]!.healthcheck!.test;
      assert.equal(check[0], 'CMD');
      const [bin, ...args] = check.slice(1).map((a) => a.replace('127.0.0.1:8888', `127.0.0.1:${adminPort}`));
      await waitFor(async () => {
        assert.equal(svc.child.exitCode, null, `${service} exited:\n${svc.output().slice(-3000)}`);
        return spawnSync(bin!, args, { cwd: join(final.root, final.workdir), timeout: 5000 }).status === 0;
      }, 90_000, `${service} healthy`);
      svc.child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => (svc.child.exitCode !== null ? r(svc.child.exitCode) : svc.child.once('exit', (c) => r(c))));
      assert.equal(code, 0, `${service} stops cleanly on SIGTERM:\n${svc.output().slice(-2000)}`);
    });
  }
});
