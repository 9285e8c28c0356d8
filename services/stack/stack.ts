// `tracehouse stack up|down|status|logs`: the compose stack's processes without Docker. A KRaft
// broker from the fetched jars, the local ClickHouse server, the receiver and the consumer, each a
// detached process of its own on the compose stack's host ports, with pid files under
// `<data_dir>/stack` and one log file each under `<data_dir>/logs`.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { localUsers } from '../shared/clickhouse/client.js';
import { pingServer, readPorts } from '../shared/clickhouse/server.js';
import { ADMIN_USER } from '../shared/clickhouse/users.js';
import type { Config } from '../config.js';
import { ConfigError, parseHostPort, reachableHost } from '../shared/config.js';
import { portFree } from '../shared/ports.js';
import { prepareBroker } from './kafka-broker.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** The compose stack publishes its broker to the host on this port. */
const STACK_KAFKA_PORT = 29092;
const STOP_TIMEOUT_MS = 30_000;

export type ComponentName = 'kafka' | 'clickhouse' | 'receiver' | 'consumer';
export const COMPONENTS: readonly ComponentName[] = ['kafka', 'clickhouse', 'receiver', 'consumer'];

interface Component {
  name: ComponentName;
  /** Where clients reach it, for the status table. */
  endpoint: string;
  /** A token of its command line: a recorded pid whose command lacks it is some other process now. */
  marker: string;
  /** The ports it listens on: taken by another process means it cannot start. */
  ports: number[];
  startTimeoutMs: number;
  launch(): { command: string; args: string[]; env: NodeJS.ProcessEnv };
  healthy(): Promise<boolean>;
}

export interface ComponentStatus {
  name: ComponentName;
  state: 'ready' | 'starting' | 'stopped';
  pid: number | undefined;
  endpoint: string;
  log: string;
}

export interface StackOptions {
  config: Config;
  /** The config file the services read (passed on to them), if any. */
  configFile: string | undefined;
  /** Human-readable progress lines. */
  out: (line: string) => void;
}

interface PidRecord {
  pid: number;
  startedAt: string;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function kafkaAnswers(broker: string): Promise<boolean> {
  const admin = new Kafka({ clientId: 'tracehouse-stack', brokers: [broker], connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The broker address of the stack: KAFKA_BROKERS / exporters.kafka.brokers when it is one local address, else the compose port. */
function stackBroker(config: Config): { host: string; port: number } {
  const [first, ...more] = config.kafka.brokers;
  if (first === undefined) return { host: '127.0.0.1', port: STACK_KAFKA_PORT };
  const { host, port } = parseHostPort(first, 'KAFKA_BROKERS');
  if (more.length > 0 || !['127.0.0.1', 'localhost'].includes(host)) throw new ConfigError(`the local stack runs one broker on this machine: KAFKA_BROKERS must be unset or one 127.0.0.1:PORT, got ${config.kafka.brokers.join(',')}`);
  return { host: '127.0.0.1', port };
}

export class LocalStack {
  private readonly dataDir: string;
  private readonly stackDir: string;
  private readonly logDir: string;
  private readonly components: Component[];

  constructor(private readonly opts: StackOptions) {
    const { config } = opts;
    if (config.exporters.clickhouse.url !== '') throw new ConfigError('CLICKHOUSE_URL is set: the local stack runs its own ClickHouse server, unset it first');
    this.dataDir = resolve(config.exporters.clickhouse.dataDir);
    this.stackDir = join(this.dataDir, 'stack');
    this.logDir = join(this.dataDir, 'logs');
    this.components = this.describe(config);
  }

  private describe(config: Config): Component[] {
    const broker = stackBroker(config);
    const brokerAddress = `${broker.host}:${broker.port}`;
    const chDir = join(this.dataDir, 'clickhouse');
    const httpPort = (): number => readPorts(chDir)?.http ?? config.exporters.clickhouse.server.httpPort;
    const adminPort = config.admin.port ?? 8888;
    const receiverAdmin = `${config.admin.host}:${adminPort}`;
    const consumerAdmin = `${config.admin.host}:${adminPort + 1}`;
    const otlp = config.receivers.otlp;
    if (otlp.http === null) throw new ConfigError('the local stack serves OTLP/HTTP: receivers.otlp.protocols must list http');
    const otlpHost = reachableHost(otlp.http.host);
    const service = (command: 'clickhouse' | 'receiver' | 'consumer', extra: NodeJS.ProcessEnv) => () => ({
      command: process.execPath,
      args: [CLI, command],
      env: { ...process.env, ...(this.opts.configFile ? { TRACEHOUSE_CONFIG: resolve(this.opts.configFile) } : {}), TRACEHOUSE_DATA_DIR: this.dataDir, KAFKA_BROKERS: brokerAddress, ...extra },
    });
    return [
      {
        name: 'kafka',
        endpoint: brokerAddress,
        marker: 'kafka.Kafka',
        ports: [broker.port, broker.port + 1],
        startTimeoutMs: 120_000,
        launch: () => ({ ...prepareBroker({ dir: join(this.dataDir, 'kafka'), port: broker.port, controllerPort: broker.port + 1 }), env: process.env }),
        healthy: () => kafkaAnswers(brokerAddress),
      },
      {
        name: 'clickhouse',
        get endpoint() {
          return `http://127.0.0.1:${httpPort()}`;
        },
        marker: CLI,
        ports: [config.exporters.clickhouse.server.httpPort, config.exporters.clickhouse.server.tcpPort].filter((p) => p !== 0),
        startTimeoutMs: 90_000,
        launch: service('clickhouse', {}),
        healthy: () => pingServer(`http://127.0.0.1:${httpPort()}`),
      },
      {
        name: 'receiver',
        endpoint: `http://${otlpHost}:${otlp.http.port}${otlp.grpc ? `, grpc ${reachableHost(otlp.grpc.host)}:${otlp.grpc.port}` : ''}`,
        marker: CLI,
        ports: [otlp.http.port, ...(otlp.grpc ? [otlp.grpc.port] : []), adminPort].filter((p) => p !== 0),
        startTimeoutMs: 60_000,
        launch: service('receiver', { TRACEHOUSE_ADMIN_ENDPOINT: receiverAdmin }),
        healthy: () => httpOk(`http://${receiverAdmin}/readyz`),
      },
      {
        name: 'consumer',
        endpoint: `admin http://${consumerAdmin}`,
        marker: CLI,
        ports: [adminPort + 1],
        startTimeoutMs: 90_000,
        // Pointed at the stack's server by URL: the consumer waits for it instead of starting one of its own.
        launch: () => {
          const { passwords } = localUsers(config.exporters.clickhouse);
          return service('consumer', { TRACEHOUSE_ADMIN_ENDPOINT: consumerAdmin, CLICKHOUSE_URL: `http://127.0.0.1:${httpPort()}`, CLICKHOUSE_USER: ADMIN_USER, CLICKHOUSE_PASSWORD: passwords[ADMIN_USER]! })();
        },
        healthy: () => httpOk(`http://${consumerAdmin}/readyz`),
      },
    ];
  }

  private pidFile(name: ComponentName): string {
    return join(this.stackDir, `${name}.pid`);
  }

  logFile(name: ComponentName): string {
    return join(this.logDir, `${name}.log`);
  }

  /** The recorded pid when that process still runs the component's command. */
  private runningPid(c: Component): number | undefined {
    const file = this.pidFile(c.name);
    if (!existsSync(file)) return undefined;
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    try {
      process.kill(pid, 0);
    } catch {
      return undefined;
    }
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(c.marker)) return undefined;
    } catch {
      // No /proc: the signal check is all there is.
    }
    return pid;
  }

  async status(): Promise<ComponentStatus[]> {
    return Promise.all(
      this.components.map(async (c) => {
        const pid = this.runningPid(c);
        const state = pid === undefined ? 'stopped' : (await c.healthy()) ? 'ready' : 'starting';
        return { name: c.name, state, pid, endpoint: c.endpoint, log: this.logFile(c.name) } satisfies ComponentStatus;
      }),
    );
  }

  /** Starts every component that is not running, in dependency order, each once the previous one is healthy. */
  async up(): Promise<ComponentStatus[]> {
    mkdirSync(this.stackDir, { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    for (const c of this.components) {
      const running = this.runningPid(c);
      if (running !== undefined) {
        this.opts.out(`${c.name}: already running (pid ${running})`);
        await this.waitHealthy(c, undefined);
        continue;
      }
      await this.refuseTakenPort(c);
      const { command, args, env } = c.launch();
      const logFd = openSync(this.logFile(c.name), 'a');
      const child = spawn(command, args, { detached: true, stdio: ['ignore', logFd, logFd], env, cwd: process.cwd() });
      closeSync(logFd);
      child.unref();
      if (child.pid === undefined) throw new Error(`${c.name}: cannot start ${command}`);
      writeFileSync(this.pidFile(c.name), JSON.stringify({ pid: child.pid, startedAt: new Date().toISOString() } satisfies PidRecord));
      let exited: string | undefined;
      child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
      child.once('error', (err) => (exited = err.message));
      this.opts.out(`${c.name}: starting (pid ${child.pid}, log ${this.logFile(c.name)})`);
      await this.waitHealthy(c, () => exited);
      this.opts.out(`${c.name}: ready at ${c.endpoint}`);
    }
    return this.status();
  }

  private async refuseTakenPort(c: Component): Promise<void> {
    for (const port of c.ports) {
      if (!(await portFree(port))) throw new ConfigError(`${c.name}: 127.0.0.1:${port} is in use by another process (not this stack's ${c.name}); stop it or configure another port`);
    }
  }

  private async waitHealthy(c: Component, exited: (() => string | undefined) | undefined): Promise<void> {
    const deadline = Date.now() + c.startTimeoutMs;
    while (!(await c.healthy())) {
      const failed = exited?.();
      if (failed !== undefined || Date.now() > deadline) {
        throw new Error(`${c.name} ${failed ?? `was not healthy within ${c.startTimeoutMs / 1000} s`}; the last lines of ${this.logFile(c.name)}:\n${this.tail(c.name, 20).join('\n')}\n(\`tracehouse stack down\` stops what runs)`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** SIGTERM in reverse dependency order (each drains and commits); SIGKILL to the process group after 30 s. */
  async down(): Promise<void> {
    for (const c of [...this.components].reverse()) {
      const pid = this.runningPid(c);
      if (pid === undefined) {
        rmSync(this.pidFile(c.name), { force: true });
        continue;
      }
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (this.runningPid(c) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (this.runningPid(c) !== undefined) {
        this.opts.out(`${c.name}: still running after ${STOP_TIMEOUT_MS / 1000} s; killing it`);
        process.kill(-pid, 'SIGKILL');
      }
      rmSync(this.pidFile(c.name), { force: true });
      this.opts.out(`${c.name}: stopped`);
    }
  }

  /** The last `lines` lines of a component's log. */
  tail(name: ComponentName, lines: number): string[] {
    const file = this.logFile(name);
    if (!existsSync(file)) return [];
    const size = statSync(file).size;
    return readRange(file, Math.max(0, size - 256 * 1024), size).split('\n').filter(Boolean).slice(-lines);
  }

  /** Prints what the logs gain from now on, until the process is interrupted. */
  follow(names: readonly ComponentName[], write: (line: string) => void): void {
    const offsets = new Map(names.map((n) => [n, existsSync(this.logFile(n)) ? statSync(this.logFile(n)).size : 0]));
    setInterval(() => {
      for (const name of names) {
        const file = this.logFile(name);
        if (!existsSync(file)) continue;
        const size = statSync(file).size;
        const from = offsets.get(name)! > size ? 0 : offsets.get(name)!;
        if (size === from) continue;
        const text = readRange(file, from, size);
        const complete = text.lastIndexOf('\n') + 1;
        offsets.set(name, from + Buffer.byteLength(text.slice(0, complete)));
        for (const line of text.slice(0, complete).split('\n').filter(Boolean)) write(`${name.padEnd(10)} | ${line}`);
      }
    }, 500);
  }
}

function readRange(file: string, from: number, to: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function formatStatus(rows: readonly ComponentStatus[]): string {
  const table = [['COMPONENT', 'STATE', 'PID', 'ENDPOINT', 'LOG'], ...rows.map((r) => [r.name, r.state, r.pid === undefined ? '-' : String(r.pid), r.endpoint, r.log])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
