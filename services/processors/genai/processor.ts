// The genai processor: maps traces to spans_raw rows (their events nested) with the GenAI
// conventions of every dialect normalized, tenancy, cost and the content policy applied, and logs to
// logs_raw rows and events_raw rows for GenAI events (rows.ts). In a Kafka receiver's pipeline it
// is the decode step of the exactly-once batches.
import { STATELESS, type LogsConsumer, type ProcessorFactory, type RowsConsumer, type TracesConsumer } from '../../component/component.js';
import { attributesProcessorFactory } from '../attributes.js';
import { type GenAiConfig, parseGenAiConfig } from './config.js';
import { type NormalizedRows, Normalizer } from './rows.js';
import type { LogsData, TracesData } from '../../otlp/model.js';

export const genaiProcessorFactory = {
  kind: 'processor',
  type: 'genai' as const,
  kinds: { traces: 'rows', logs: 'rows' },
  parseConfig: parseGenAiConfig,
  create: async (settings, next, input) => {
    const rows = next as RowsConsumer;
    // Data read from Kafka may come from a Collector that never stamped tenancy: the same defaults apply.
    const normalizer = new Normalizer({ ...settings.config, tenancy: settings.configOf(attributesProcessorFactory) });
    if (input === 'logs') {
      const normalizeLogs = (data: LogsData): NormalizedRows => normalizer.normalizeLogs(data);
      const consumer: LogsConsumer = {
        consumeLogs: (data) => rows.consumeRows(normalizeLogs(data)),
        exactlyOnce: { normalize: normalizeLogs, batch: rows.batch, sink: rows.sink },
      };
      return { ...STATELESS, ...consumer };
    }
    const unpriced = settings.registry.counter('tracehouse_unpriced_llm_calls_total', 'Model calls stored with cost 0 because neither the configured prices nor the price database know the model, by model.');
    // A gap in the price data shows on /metrics instead of as silently low cost.
    const normalize = (data: TracesData): NormalizedRows => {
      const rows = normalizer.normalize(data);
      for (const span of rows.spans) if (span.cost_source === 'unpriced') unpriced.inc({ model: span.model || '(none)' });
      return rows;
    };
    const consumer: TracesConsumer = {
      consumeTraces: (data) => rows.consumeRows(normalize(data)),
      exactlyOnce: { normalize, batch: rows.batch, sink: rows.sink },
    };
    return { ...STATELESS, ...consumer };
  },
} satisfies ProcessorFactory<GenAiConfig>;
