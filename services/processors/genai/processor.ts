// The genai processor: maps traces to spans_raw / events_raw rows with the GenAI conventions of
// every dialect normalized, tenancy, cost and the content policy applied (rows.ts). In a
// Kafka receiver's pipeline it is the decode step of the exactly-once batches.
import { STATELESS, type ProcessorFactory, type RowsConsumer, type TracesConsumer } from '../../component/component.js';
import { Normalizer } from './rows.js';

export const genaiProcessorFactory: ProcessorFactory = {
  kind: 'processor',
  type: 'genai',
  consumes: 'traces',
  produces: 'rows',
  create: async (settings, next) => {
    const rows = next as RowsConsumer;
    const normalizer = Normalizer.fromConfig(settings.config);
    const normalize = normalizer.normalize.bind(normalizer);
    const consumer: TracesConsumer = {
      consumeTraces: (data) => rows.consumeRows(normalize(data)),
      exactlyOnce: { normalize, batch: rows.batch, sink: rows.sink },
    };
    return { ...STATELESS, ...consumer };
  },
};
