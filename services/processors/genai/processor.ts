// The genai processor: maps traces to spans_raw / events_raw rows with the GenAI conventions of
// every dialect normalized, tenancy, cost and the content policy applied (rows.ts). In a
// Kafka receiver's pipeline it is the decode step of the exactly-once batches.
import { STATELESS, type ProcessorFactory, type RowsConsumer, type TracesConsumer } from '../../component/component.js';
import { attributesProcessorFactory } from '../attributes.js';
import { type GenAiConfig, parseGenAiConfig } from './config.js';
import { Normalizer } from './rows.js';

export const genaiProcessorFactory = {
  kind: 'processor',
  type: 'genai' as const,
  consumes: 'traces',
  produces: 'rows',
  parseConfig: parseGenAiConfig,
  create: async (settings, next) => {
    const rows = next as RowsConsumer;
    // Spans read from Kafka may come from a Collector that never stamped tenancy: the same defaults apply.
    const normalizer = new Normalizer({ ...settings.config, tenancy: settings.configOf(attributesProcessorFactory) });
    const normalize = normalizer.normalize.bind(normalizer);
    const consumer: TracesConsumer = {
      consumeTraces: (data) => rows.consumeRows(normalize(data)),
      exactlyOnce: { normalize, batch: rows.batch, sink: rows.sink },
    };
    return { ...STATELESS, ...consumer };
  },
} satisfies ProcessorFactory<GenAiConfig>;
