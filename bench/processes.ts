// The services under test run as separate processes, as deployed (receiver, consumer), so CPU and
// memory are measured per process from /proc, sampled once a second.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../services/shared/ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = 120_000;

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly adminUrl: string;
  /** Set for the receiver. */
  readonly otlpUrl: string | undefined;
  stop(): Promise<void>;
}

/** Starts `tracehouse <mode>` and resolves once its /readyz answers 200. */
export async function startService(mode: 'receiver' | 'consumer' | 'start', env: NodeJS.ProcessEnv, profileDir?: string): Promise<ServiceProcess> {
  const [otlpPort, adminPort] = [await freePort(), await freePort()];
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`, `--cpu-prof-name=${mode}.cpuprofile`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/services/cli.js'), mode], {
    cwd: ROOT,
    env: { ...process.env, ...env, OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`, OTLP_GRPC_ENDPOINT: '127.0.0.1:0', TRACEHOUSE_ADMIN_ENDPOINT: `127.0.0.1:${adminPort}`, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${mode} exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${mode} not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`);
    }
    const ok = await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((w) => setTimeout(w, 200));
  }
  return {
    name: mode,
    pid: child.pid!,
    adminUrl,
    otlpUrl: mode === 'consumer' ? undefined : `http://127.0.0.1:${otlpPort}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`${mode} exited with ${code} after SIGTERM: ${stderr}`);
    },
  };
}

interface ProcStat {
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

export function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

export interface ProcessUsage {
  cpuSeconds: number;
  peakRssBytes: number;
  rssGrowthBytes: number;
  /** RSS once a second during the load. */
  rssSamples: number[];
}

/** CPU used between start() and the last sample, peak RSS, and RSS samples to judge whether memory stays flat. */
export class ProcessSampler {
  private readonly first = new Map<number, ProcStat>();
  private readonly last = new Map<number, ProcStat>();
  private readonly rss = new Map<number, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private loadSamples = 0;

  constructor(private readonly pids: Map<string, number>) {}

  start(): void {
    for (const pid of this.pids.values()) this.first.set(pid, procStat(pid));
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  sample(): void {
    for (const pid of this.pids.values()) {
      const s = procStat(pid);
      this.last.set(pid, s);
      let samples = this.rss.get(pid);
      if (samples === undefined) this.rss.set(pid, (samples = []));
      samples.push(s.rssBytes);
    }
  }

  /** The load stopped: memory growth is judged on the samples up to here, CPU runs on through the drain. */
  markLoadEnd(): void {
    this.sample();
    this.loadSamples = Math.min(...[...this.rss.values()].map((s) => s.length));
  }

  stop(): Map<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const out = new Map<string, ProcessUsage>();
    for (const [name, pid] of this.pids) {
      const [a, b] = [this.first.get(pid)!, this.last.get(pid)!];
      const samples = this.rss.get(pid)!.slice(0, this.loadSamples || undefined);
      // Growth over the second half of the load: warm-up allocations are over by then, a leak is not.
      const mid = samples[Math.floor(samples.length / 2)]!;
      out.set(name, { cpuSeconds: b.cpuSeconds - a.cpuSeconds, peakRssBytes: b.peakRssBytes, rssGrowthBytes: samples[samples.length - 1]! - mid, rssSamples: samples });
    }
    return out;
  }
}
