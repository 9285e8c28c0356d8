// The batch processor: rows accumulate up to processors.batch.send_batch_size or its timeout, then
// go on as one batch (one INSERT). Each caller is answered when its batch is stored, so acks still
// mean durable. In a Kafka receiver's pipeline its limits shape the exactly-once batches instead.
import type { Component, ProcessorFactory, RowsConsumer } from '../component/component.js';
import { Batcher } from '../shared/batcher.js';
import { RetryableError } from '../shared/errors.js';
import { type NormalizedRows, mergeRows, rowCount } from './genai/rows.js';

export const batchProcessorFactory: ProcessorFactory = {
  kind: 'processor',
  type: 'batch',
  consumes: 'rows',
  produces: 'rows',
  create: async (settings, next) => {
    const downstream = next as RowsConsumer;
    const { maxRows, maxDelayMs, maxConcurrentFlushes } = settings.config.batch;
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
      batch: { maxRows, maxDelayMs, maxConcurrentFlushes },
      sink: downstream.sink,
      start: async () => undefined,
      ready: () => true,
      shutdown: () => batcher.close(),
    };
    return processor;
  },
};
