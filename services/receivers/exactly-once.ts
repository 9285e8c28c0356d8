// What a receiver that stores exactly once (kafka, local_log) needs of the pipeline after it: the
// genai processor's mapping to rows, the batch processor's limits and the clickhouse exporter's
// INSERT with a dedup token; offsets are committed only after the INSERT of their rows.
import type { ExactlyOnceStage, LogsConsumer, TracesConsumer } from '../component/component.js';
import type { LogsData, Signal, TracesData } from '../otlp/model.js';
import { ConfigError } from '../shared/config-error.js';

export type Stage<D> = { [K in keyof ExactlyOnceStage<D>]-?: NonNullable<ExactlyOnceStage<D>[K]> };

/** The pipeline's exactly-once stage, or a ConfigError naming the pipeline and what it must be. */
export function exactlyOnceStage<D>(receiver: string, signal: Signal, pipeline: string, next: { exactlyOnce?: ExactlyOnceStage<D> }): Stage<D> {
  const stage = next.exactlyOnce;
  if (stage?.batch === undefined || stage.sink === undefined) {
    throw new ConfigError(`${pipeline}: the ${receiver} receiver stores exactly once, committing only after the INSERT: its ${signal} pipeline must be processors [genai, batch] and exporter clickhouse, in one pipeline`);
  }
  return { normalize: stage.normalize, batch: stage.batch, sink: stage.sink };
}

/** The exactly-once stage of each signal the receiver has a pipeline for. */
export function exactlyOnceStages(receiver: string, pipeline: string, next: { traces?: TracesConsumer; logs?: LogsConsumer }): { traces?: Stage<TracesData>; logs?: Stage<LogsData> } {
  return {
    ...(next.traces && { traces: exactlyOnceStage(receiver, 'traces', pipeline, next.traces) }),
    ...(next.logs && { logs: exactlyOnceStage(receiver, 'logs', pipeline, next.logs) }),
  };
}
