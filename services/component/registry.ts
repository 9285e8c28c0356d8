// Every component Tracehouse has: a new receiver, processor or exporter is its factory plus one line here.
import { clickhouseExporterFactory } from '../exporters/clickhouse/exporter.js';
import { kafkaExporterFactory } from '../exporters/kafka/factory.js';
import { localLogExporterFactory } from '../exporters/local-log/exporter.js';
import { attributesProcessorFactory } from '../processors/attributes.js';
import { batchProcessorFactory } from '../processors/batch.js';
import { genaiProcessorFactory } from '../processors/genai/processor.js';
import { redactionProcessorFactory } from '../processors/redaction.js';
import { kafkaReceiverFactory } from '../receivers/kafka/receiver.js';
import { localLogReceiverFactory } from '../receivers/local-log/receiver.js';
import { otlpReceiverFactory } from '../receivers/otlp/receiver.js';
import { FactoryRegistry } from './builder.js';
import type { ComponentKind, ConfigOf } from './component.js';

const FACTORIES = [
  otlpReceiverFactory,
  kafkaReceiverFactory,
  localLogReceiverFactory,
  attributesProcessorFactory,
  redactionProcessorFactory,
  genaiProcessorFactory,
  batchProcessorFactory,
  kafkaExporterFactory,
  localLogExporterFactory,
  clickhouseExporterFactory,
] as const;

export const components = new FactoryRegistry(FACTORIES);

type Registered = (typeof FACTORIES)[number];

/** Every component's settings by section and type: `receivers.otlp`, `processors.batch`, ... */
export type ComponentConfigs = {
  [K in ComponentKind as `${K}s`]: { [F in Extract<Registered, { kind: K }> as F['type']]: ConfigOf<F> };
};
