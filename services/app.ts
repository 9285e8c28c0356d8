// A Tracehouse process: the pipelines of service.pipelines that its mode runs, assembled from the
// component registry (component/builder.ts), plus the admin endpoint. `tracehouse receiver` runs the
// pipelines with the otlp receiver, `tracehouse consumer` those with the kafka receiver, `start` all.
// `start` without Kafka brokers puts the local durable log (local_log exporter and receiver) where
// the kafka ones are: the receiver answers once the log has the spans on disk, and the log is read
// into ClickHouse by the same exactly-once protocol; it says so in its log.
import type { Kafka } from 'kafkajs';
import { buildService } from './component/builder.js';
import type { Resources } from './component/component.js';
import { components } from './component/registry.js';
import { OtlpReceiver } from './receivers/otlp/receiver.js';
import { type AdminServer, startAdminServer } from './shared/admin-server.js';
import { type ClickHouseHandle, openClickHouse } from './shared/clickhouse/client.js';
import type { Config, PipelineConfig } from './config.js';
import { ConfigError } from './shared/config-error.js';
import { createKafka } from './shared/kafka.js';
import { LocalLog } from './shared/local-log.js';
import type { Logger } from './shared/log.js';
import { Registry } from './shared/metrics.js';

export type Mode = 'receiver' | 'consumer' | 'all';

export interface RunningApp {
  /** OTLP/HTTP port, when this process runs the otlp receiver and serves HTTP. */
  readonly otlpPort: number | undefined;
  /** OTLP/gRPC port, when it serves gRPC. */
  readonly otlpGrpcPort: number | undefined;
  readonly adminPort: number;
  readonly registry: Registry;
  readonly clickhouse: ClickHouseHandle | undefined;
  /** Settles with the error of a component that reported it cannot go on; the caller stops the app. */
  readonly failed: Promise<Error>;
  ready(): boolean;
  stop(): Promise<void>;
}

/** The pipelines `mode` runs, with the direct path in place of Kafka for `start` without brokers. */
export function pipelinesFor(mode: Mode, config: Config, log: Logger): Record<string, PipelineConfig> {
  const all = Object.entries(config.pipelines);
  const has = (p: PipelineConfig, receiver: string): boolean => p.receivers.includes(receiver);
  if (mode === 'receiver' || mode === 'consumer') {
    const receiver = mode === 'receiver' ? 'otlp' : 'kafka';
    const chosen = all.filter(([, p]) => has(p, receiver));
    if (chosen.length === 0) throw new ConfigError(`no pipeline in service.pipelines has the ${receiver} receiver (tracehouse ${mode} runs those)`);
    return Object.fromEntries(chosen);
  }
  if (config.kafka.brokers.length > 0) return Object.fromEntries(all);
  const local = (ids: string[]): string[] => ids.map((id) => (id === 'kafka' ? 'local_log' : id));
  const swapped = all.map(([name, p]): [string, PipelineConfig] => {
    if (!has(p, 'kafka') && !p.exporters.includes('kafka')) return [name, p];
    log.info('no Kafka brokers configured: this pipeline uses the local durable log instead', { pipeline: name });
    return [name, { receivers: local(p.receivers), processors: p.processors, exporters: local(p.exporters) }];
  });
  return Object.fromEntries(swapped);
}

/** One ClickHouse connection and one Kafka client per process, opened when a component first needs them. */
function sharedResources(config: Config, log: Logger): Resources & { opened(): ClickHouseHandle | undefined; close(): Promise<void> } {
  let clickhouse: Promise<ClickHouseHandle> | undefined;
  let handle: ClickHouseHandle | undefined;
  let kafka: Kafka | undefined;
  const localLogs = new Map<string, Promise<LocalLog>>();
  return {
    localLog: (opts) => {
      let opened = localLogs.get(opts.directory);
      if (opened === undefined) localLogs.set(opts.directory, (opened = LocalLog.open({ ...opts, log: log.child('local-log') })));
      return opened;
    },
    clickhouse: () =>
      (clickhouse ??= openClickHouse(config.exporters.clickhouse, log.child('clickhouse')).then((h) => {
        handle = h;
        return h;
      })),
    kafka: () => (kafka ??= createKafka(config.kafka.brokers, config.kafka.clientId, log)),
    opened: () => handle,
    close: async () => {
      await (await clickhouse?.catch(() => undefined))?.close();
      for (const opened of localLogs.values()) await (await opened.catch(() => undefined))?.close();
    },
  };
}

export async function startApp(mode: Mode, config: Config, log: Logger): Promise<RunningApp> {
  const registry = new Registry();
  const resources = sharedResources(config, log);
  let reportFatal: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFatal = resolve));
  const service = await buildService(pipelinesFor(mode, config, log), components, { configs: config, registry, log, resources, reportFatal: (err) => reportFatal(err) });
  let admin: AdminServer | undefined;
  try {
    await service.start();
    admin = await startAdminServer({ host: config.admin.host, port: config.admin.port ?? (mode === 'consumer' ? 8889 : 8888), registry, ready: service.ready });
    log.info('admin endpoint listening', { url: `http://${config.admin.host}:${admin.port}`, paths: ['/healthz', '/readyz', '/metrics'] });
  } catch (err) {
    await service.shutdown().catch(() => undefined);
    await resources.close().catch(() => undefined);
    throw err;
  }
  const otlp = service.receiver('otlp');
  const adminServer = admin;
  return {
    otlpPort: otlp instanceof OtlpReceiver ? otlp.port : undefined,
    otlpGrpcPort: otlp instanceof OtlpReceiver ? otlp.grpcPort : undefined,
    adminPort: adminServer.port,
    registry,
    clickhouse: resources.opened(),
    failed,
    ready: service.ready,
    // Receivers stop first (intake ends), then processors flush, then exporters; the admin endpoint last.
    stop: async () => {
      await service.shutdown();
      await resources.close();
      await adminServer.close();
    },
  };
}
