// What a receiver that stores exactly once (kafka, local_log) needs of the pipeline after it: the
// genai processor's mapping to rows, the batch processor's limits and the clickhouse exporter's
// INSERT with a dedup token; offsets are committed only after the INSERT of their rows.
import type { ExactlyOnceStage, TracesConsumer } from '../component/component.js';
import { type NormalizedRows, mergeRows, rowCount } from '../processors/genai/rows.js';
import { ConfigError } from '../shared/config-error.js';
import type { RowsKind } from './kafka/partition-batches.js';

export type Stage = { [K in keyof ExactlyOnceStage]-?: NonNullable<ExactlyOnceStage[K]> };

export const normalizedRows: RowsKind<NormalizedRows> = { empty: () => ({ spans: [], events: [] }), count: rowCount, merge: mergeRows };

/** The pipeline's exactly-once stage, or a ConfigError naming the pipeline and what it must be. */
export function exactlyOnceStage(receiver: string, pipeline: string, next: TracesConsumer): Stage {
  const stage = next.exactlyOnce;
  if (stage?.batch === undefined || stage.sink === undefined) {
    throw new ConfigError(`${pipeline}: the ${receiver} receiver stores exactly once, committing only after the INSERT: its pipeline must be processors [genai, batch] and exporter clickhouse, in one pipeline`);
  }
  return { normalize: stage.normalize, batch: stage.batch, sink: stage.sink };
}
