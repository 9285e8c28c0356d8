// The batch processor: rows accumulate up to processors.batch.send_batch_size or its timeout, then
// go on as one batch (one INSERT). Each caller is answered when its batch is stored, so acks still
// mean durable. In a Kafka receiver's pipeline its limits shape the exactly-once batches instead.
import type { BatchLimits, Component, ProcessorFactory, RowsConsumer } from '../component/component.js';
import { Batcher } from '../shared/batcher.js';
import type { Section } from '../shared/config.js';
import { RetryableError } from '../shared/errors.js';
import { type NormalizedRows, mergeRows, rowCount } from './genai/rows.js';

export const batchProcessorFactory = {
  kind: 'processor',
  type: 'batch' as const,
  kinds: { rows: 'rows' },
  parseConfig: (section: Section): BatchLimits => {
    const maxRows = section.int('send_batch_size', 60_000, 'BATCH_MAX_ROWS', 1);
    const maxBufferedRows = section.int('send_batch_max_size', 4 * maxRows);
    if (maxBufferedRows < maxRows) section.fail('send_batch_max_size', `must be at least send_batch_size (${maxRows})`);
    return {
      maxRows,
      maxDelayMs: section.duration('timeout', 500, 'BATCH_TIMEOUT', { positive: true }),
      maxBufferedRows,
    };
  },
  create: async (settings, next) => {
    const downstream = next as RowsConsumer;
    const { maxRows, maxDelayMs } = settings.config;
    const batcher = new Batcher<NormalizedRows>({ maxWeight: maxRows, maxDelayMs, weight: rowCount, flush: (items) => downstream.consumeRows(mergeRows(items)) });
    const processor: RowsConsumer & Component = {
      consumeRows: async (rows) => {
        try {
          await batcher.add([rows]);
        } catch (err) {
          // Retryable even when the destination refused the data: the batch holds other callers' rows too.
          throw new RetryableError(`batch export failed: ${(err as Error).message}`, 2, { cause: err });
        }
      },
      batch: settings.config,
      sink: downstream.sink,
      start: async () => undefined,
      ready: () => true,
      shutdown: () => batcher.close(),
    };
    return processor;
  },
} satisfies ProcessorFactory<BatchLimits>;
