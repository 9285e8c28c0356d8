// The kafka exporter: OTLP protobuf to the spans topic, one message per trace, acks=all
// (exporter.ts); the Collector's kafka exporter layout.
import type { ExporterFactory } from '../../component/component.js';
import { KafkaExporter } from './exporter.js';
import { ConfigError } from '../../shared/config-error.js';

export const kafkaExporterFactory: ExporterFactory = {
  kind: 'exporter',
  type: 'kafka',
  consumes: 'traces',
  create: async (settings) => {
    if (settings.config.kafka.brokers.length === 0) throw new ConfigError('the kafka exporter needs Kafka: set KAFKA_BROKERS or exporters.kafka.brokers');
    return new KafkaExporter(settings.resources.kafka(), settings.config.kafka, settings.registry, settings.log);
  },
};
