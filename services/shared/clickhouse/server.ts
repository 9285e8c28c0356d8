// A real ClickHouse server on this machine, from the libchdb that @chdb/lib-linux-x64-gnu ships:
// clickhouse-local's main, run by a small C launcher as
// a child process, with config.xml and users.xml under the data directory. It speaks the HTTP and
// native protocols on 127.0.0.1 only; Tracehouse talks to it over HTTP exactly as to any server.
// The child is supervised: restarted with backoff if it dies, stopped with SIGTERM.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { portFree } from '../ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const LAUNCHER_SOURCE = join(ROOT, 'scripts/clickhouse/launcher.c');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const RESTART_MAX_MS = 10_000;

export interface ServerOptions {
  /** Everything of the server lives in `<dataDir>/clickhouse`. */
  dataDir: string;
  httpPort: number;
  tcpPort: number;
  /** users.xml content (see users.ts; it must hold users.LAUNCH_USER). */
  usersXml: string;
  /** More users files, merged from users.d as a server merges them (the compose stack's file, in a test). */
  usersFiles?: string[];
  /** More top-level config.xml elements (a test cluster's remote_servers). */
  configXml?: string;
  /** Environment of the server process (users files read `from_env` passwords from it). */
  env?: Record<string, string>;
  log: Logger;
}

/** libchdb.so from the installed platform package, or a clear error naming the alternative. */
export function libchdbPath(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@chdb/lib-linux-x64-gnu/package.json')), 'libchdb.so');
  } catch {
    throw new ConfigError('the local ClickHouse server needs the optional package @chdb/lib-linux-x64-gnu (Linux x64, glibc: npm install); elsewhere set CLICKHOUSE_URL to a ClickHouse server');
  }
}

/** The launcher binary, built from scripts/clickhouse/launcher.c with the system C compiler on first use. */
export function ensureLauncher(): string {
  const out = join(ROOT, '.clickhouse', 'chdb-launcher');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(LAUNCHER_SOURCE).mtimeMs) return out;
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC ?? 'cc';
  // Built aside and renamed into place: another process starting a server meanwhile sees no half-written binary.
  const tmp = `${out}.${process.pid}.tmp`;
  const built = spawnSync(cc, ['-O2', '-o', tmp, LAUNCHER_SOURCE, '-ldl'], { encoding: 'utf8' });
  if (built.error !== undefined || built.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot build the ClickHouse launcher with ${cc} (install a C compiler, e.g. apt-get install gcc, or set CC): ${built.error?.message ?? built.stderr}`);
  }
  renameSync(tmp, out);
  return out;
}

/** The ports a server of `dir` (`<data_dir>/clickhouse`) wrote when it started, or null. */
export function readPorts(dir: string): { http: number; tcp: number } | null {
  const file = join(dir, 'ports.tsv');
  if (!existsSync(file)) return null;
  const [http, tcp] = readFileSync(file, 'utf8').trim().split('\t').map(Number);
  return http && tcp ? { http, tcp } : null;
}

/** True when a ClickHouse server answers `/ping` at `url` within a second. */
export async function pingServer(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return res.ok && (await res.text()).startsWith('Ok.');
  } catch {
    return false;
  }
}

// The listeners open when the query asks for them; the last statement keeps the process alive.
const SERVE_QUERY = (portsFile: string): string =>
  'SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; ' +
  `SELECT getServerPort('http_port'), getServerPort('tcp_port') INTO OUTFILE '${portsFile}' TRUNCATE FORMAT TSV; ` +
  'SELECT sleepEachRow(1) FROM numbers(1000000000) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 FORMAT Null';

export class ClickHouseServer {
  private child: ChildProcess | null = null;
  private stopping = false;
  private restarts = 0;
  private ports: { http: number; tcp: number } | null = null;
  private referenced = true;
  private readonly dir: string;

  private constructor(private readonly opts: ServerOptions) {
    this.dir = resolve(opts.dataDir, 'clickhouse');
  }

  /** Starts the server and resolves once `/ping` answers. */
  static async start(opts: ServerOptions): Promise<ClickHouseServer> {
    const server = new ClickHouseServer(opts);
    for (const [port, what, variable] of [[opts.httpPort, 'HTTP', 'CLICKHOUSE_HTTP_PORT'], [opts.tcpPort, 'native', 'CLICKHOUSE_TCP_PORT']] as const) {
      if (port !== 0 && !(await portFree(port))) throw new ConfigError(`the ClickHouse ${what} port 127.0.0.1:${port} is in use (exporters.clickhouse.server / ${variable}); is another server running?`);
    }
    await server.launch();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.ports!.http}`;
  }

  get tcpPort(): number {
    return this.ports!.tcp;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  private async launch(): Promise<void> {
    const { opts, dir } = this;
    mkdirSync(join(dir, 'data'), { recursive: true });
    const users = join(dir, 'users.xml');
    writeFileSync(users, opts.usersXml, { mode: 0o600 });
    chmodSync(users, 0o600);
    const usersD = join(dir, 'users.d');
    rmSync(usersD, { recursive: true, force: true });
    if (opts.usersFiles?.length) {
      mkdirSync(usersD);
      opts.usersFiles.forEach((f, i) => copyFileSync(f, join(usersD, `${i}-${basename(f)}`)));
    }
    const config = join(dir, 'config.xml');
    // Ports stay fixed across restarts once chosen, so clients keep their URL.
    const http = this.ports?.http ?? opts.httpPort;
    const tcp = this.ports?.tcp ?? opts.tcpPort;
    writeFileSync(
      config,
      `<clickhouse>\n  <listen_host>127.0.0.1</listen_host>\n  <http_port>${http}</http_port>\n  <tcp_port>${tcp}</tcp_port>\n` +
        `  <users_config>${users}</users_config>\n${opts.configXml ?? ''}</clickhouse>\n`,
    );
    const portsFile = join(dir, 'ports.tsv');
    rmSync(portsFile, { force: true });
    const logFd = openSync(this.logFile, 'a');
    // clickhouse-local ignores <logger> in the config; without the flag it logs every query at trace level.
    const args = [libchdbPath(), '--config-file', config, '--path', join(dir, 'data'), '--log-level', 'warning', '--query', SERVE_QUERY(portsFile)];
    const child = spawn(ensureLauncher(), args, { stdio: ['ignore', logFd, logFd], env: { ...process.env, ...opts.env } });
    closeSync(logFd);
    this.child = child;
    if (!this.referenced) child.unref();
    const exited = new Promise<number | null>((r) => {
      child.once('exit', (code) => r(code));
      child.once('error', (err) => {
        this.opts.log.error('cannot run the ClickHouse launcher', { err });
        r(null);
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const state = await Promise.race([exited.then((code) => ({ code })), new Promise<null>((r) => setTimeout(() => r(null), 100))]);
      if (state !== null) throw new Error(`the ClickHouse server exited with code ${state.code} while starting: ${this.tail()}`);
      const ports = readPorts(dir);
      if (ports !== null) {
        this.ports = ports;
        if (await this.ping()) break;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the ClickHouse server did not answer /ping within ${START_TIMEOUT_MS} ms: ${this.tail()}`);
      }
    }
    this.opts.log.info('clickhouse server ready', { url: this.url, tcp_port: this.tcpPort, pid: child.pid, log: this.logFile });
    void exited.then((code) => this.onExit(child, code));
  }

  private async onExit(child: ChildProcess, code: number | null): Promise<void> {
    if (this.stopping || this.child !== child) return;
    const wait = Math.min(RESTART_MAX_MS, 250 * 2 ** this.restarts++);
    this.opts.log.error('clickhouse server exited; restarting', { code, signal: child.signalCode, wait_ms: wait, log: this.tail() });
    await new Promise((r) => setTimeout(r, wait));
    if (this.stopping) return;
    try {
      await this.launch();
      this.restarts = 0;
    } catch (err) {
      this.opts.log.error('clickhouse server restart failed', { err });
      // launch() made the failed process the current one: retry from it, with a longer backoff.
      if (!this.stopping && this.child !== null) void this.onExit(this.child, null);
    }
  }

  ping(): Promise<boolean> {
    return pingServer(this.url);
  }

  private tail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean).slice(-5).join(' | ');
    } catch {
      return '(no log)';
    }
  }

  /** The server no longer keeps this process alive (a test process exits when its tests end). */
  unref(): void {
    this.referenced = false;
    this.child?.unref();
  }

  /** SIGKILL, synchronously (for a process that is exiting and cannot wait). */
  kill(): void {
    this.stopping = true;
    this.child?.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(killer);
  }
}
