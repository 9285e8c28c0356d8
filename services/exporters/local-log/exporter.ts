// The local_log exporter: each trace of a request as one record of the local durable log
// (shared/local-log.ts), and each logs request as one record of a second log beside it (logs/),
// answering once the records are on disk. What the kafka exporter is to Kafka, for a machine
// without it; the local_log receiver reads the logs into ClickHouse.
import { join } from 'node:path';
import type { Component, EncodedTracesConsumer, ExporterFactory, LogsConsumer, TracesConsumer } from '../../component/component.js';
import { encodeLogsProtobuf, encodeTracesProtobuf } from '../../otlp/protobuf.js';
import { splitByTrace } from '../../otlp/split.js';
import type { LogsData, Signal, TracesData } from '../../otlp/model.js';
import type { Section } from '../../shared/config.js';
import type { LocalLog } from '../../shared/local-log.js';

export interface LocalLogConfig {
  directory: string;
  /** Bytes of segments on disk at most: past it the receiver answers 503 with Retry-After until the reader catches up. */
  maxBytes: number;
  segmentBytes: number;
}

const MIB = 1024 * 1024;

/** Where the log lives, for the exporter and the receiver alike: data_dir/local-log unless told. */
export function parseLocalLogConfig(section: Section): LocalLogConfig {
  const dataDir = section.env.TRACEHOUSE_DATA_DIR ?? './data';
  return {
    directory: section.str('directory', `${dataDir}/local-log`, 'TRACEHOUSE_LOCAL_LOG_DIR'),
    maxBytes: section.int('max_bytes', 1024 * MIB, 'TRACEHOUSE_LOCAL_LOG_MAX_BYTES', 1),
    segmentBytes: section.int('segment_bytes', 64 * MIB, undefined, 1),
  };
}

/** The log of one signal: the configured directory for traces, its logs/ subdirectory for log records. */
export function signalLog(config: LocalLogConfig, signal: Signal): LocalLogConfig {
  return signal === 'traces' ? config : { ...config, directory: join(config.directory, 'logs') };
}

export class LocalLogExporter implements TracesConsumer, LogsConsumer, Component {
  private log: LocalLog | undefined;
  /** Opened with the first logs request: a process with no logs pipeline makes no logs directory. */
  private logsLog: Promise<LocalLog> | undefined;
  readonly encoded: EncodedTracesConsumer = {
    // No per-message limit as Kafka's: a trace is one record whatever its size.
    maxTraceBytes: Number.MAX_SAFE_INTEGER,
    consume: (traces) => this.log!.append(traces.map((t) => ({ key: t.traceId, value: t.bytes }))),
  };

  constructor(private readonly open: (signal: Signal) => Promise<LocalLog>) {}

  async start(): Promise<void> {
    this.log = await this.open('traces');
  }

  consumeTraces(data: TracesData): Promise<void> {
    return this.log!.append([...splitByTrace(data)].map(([traceId, trace]) => ({ key: traceId, value: encodeTracesProtobuf(trace) })));
  }

  async consumeLogs(data: LogsData): Promise<void> {
    const log = await (this.logsLog ??= this.open('logs').catch((err: unknown) => {
      this.logsLog = undefined;
      throw err;
    }));
    await log.append([{ key: null, value: encodeLogsProtobuf(data) }]);
  }

  ready(): boolean {
    return this.log !== undefined;
  }

  async shutdown(): Promise<void> {
    // The log is shared with the receiver (Resources) and closed after every component stopped.
  }
}

export const localLogExporterFactory = {
  kind: 'exporter',
  type: 'local_log' as const,
  consumes: ['traces', 'logs'],
  parseConfig: parseLocalLogConfig,
  create: async (settings) => new LocalLogExporter((signal) => settings.resources.localLog(signalLog(settings.config, signal))),
} satisfies ExporterFactory<LocalLogConfig>;
