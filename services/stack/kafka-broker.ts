// A single-node KRaft Apache Kafka broker on 127.0.0.1: jars from Maven Central
// (scripts/kafka/fetch.sh), run with `java`. The local stack runs it detached with its data under
// the data directory; tests and the benchmark run it as a child on free ports in a temporary one.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../shared/ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const KAFKA_HOME = process.env.TRACEHOUSE_KAFKA_HOME ?? join(ROOT, '.kafka');
const CLUSTER_ID = '4L6g3nShT-eMCtK--X86sw';
const START_TIMEOUT_MS = 90_000;
/** Printed by the broker once its listeners serve clients. */
const BROKER_STARTED = /Kafka Server started|Transitioning from RECOVERY to RUNNING/;

export interface BrokerLayout {
  /** Holds server.properties, the broker's logs and data/ (its log.dirs). */
  dir: string;
  port: number;
  controllerPort: number;
}

export interface KafkaBroker {
  /** host:port for clients. */
  readonly brokers: string;
  /** The broker's log.dirs, where topic partitions are stored. */
  readonly dataDir: string;
  /** The running broker process, if any. */
  readonly pid: number | undefined;
  /** Stops the broker process (SIGTERM, then SIGKILL after 20 s); its data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

export function ensureKafkaJars(): string {
  const lib = join(KAFKA_HOME, 'lib');
  const fetched = spawnSync('bash', [join(ROOT, 'scripts/kafka/fetch.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (fetched.status !== 0) throw new Error('scripts/kafka/fetch.sh failed: cannot get the Kafka broker jars');
  return lib;
}

/** Writes the broker's properties, formats its storage once, and returns the command that runs it. */
export function prepareBroker(layout: BrokerLayout): { command: string; args: string[] } {
  const lib = ensureKafkaJars();
  const { dir, port, controllerPort } = layout;
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=6',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'num.network.threads=2',
      'num.io.threads=2',
      'log.flush.interval.messages=9223372036854775807',
    ].join('\n') + '\n',
  );
  const jvm = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${dir}`,
    `-Dlog4j2.configurationFile=${join(ROOT, 'scripts/kafka/log4j2.properties')}`,
    '-cp',
    `${lib}/*`,
  ];
  const format = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', CLUSTER_ID, '-c', props, '--ignore-formatted'], { encoding: 'utf8' });
  if (format.error !== undefined) throw new Error(`cannot run java for the Kafka broker (install Java 17): ${format.error.message}`);
  if (format.status !== 0) throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  return { command: 'java', args: [...jvm, 'kafka.Kafka', props] };
}

/** A broker as a child of this process, on free ports in a temporary directory. */
export async function startKafkaBroker(): Promise<KafkaBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const { command, args } = prepareBroker({ dir, port, controllerPort });

  let proc: ChildProcess | null = null;
  const start = (): Promise<void> =>
    new Promise((resolveStart, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = child;
      let output = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kafka broker did not start within ${START_TIMEOUT_MS} ms:\n${output.slice(-4000)}`));
      }, START_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (BROKER_STARTED.test(output)) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          child.stderr!.resume();
          resolveStart();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (proc === child) proc = null;
        reject(new Error(`kafka broker exited with ${code} before it started:\n${output.slice(-4000)}`));
      });
    });
  const stop = async (): Promise<void> => {
    const child = proc;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    proc = null;
  };
  await start();
  return {
    brokers: `127.0.0.1:${port}`,
    dataDir: join(dir, 'data'),
    get pid() {
      return (proc as ChildProcess | null)?.pid;
    },
    start,
    stop,
    destroy: async () => {
      await stop();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
