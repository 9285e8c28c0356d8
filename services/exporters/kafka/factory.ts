// The kafka exporter: OTLP protobuf to the spans topic, one message per trace, and to the logs
// topic, acks=all (exporter.ts); the Collector's kafka exporter layout.
import type { ExporterFactory } from '../../component/component.js';
import { ConfigError } from '../../shared/config-error.js';
import { type KafkaExporterConfig, parseKafkaExporterConfig } from './config.js';
import { KafkaExporter } from './exporter.js';

export const kafkaExporterFactory = {
  kind: 'exporter',
  type: 'kafka' as const,
  consumes: ['traces', 'logs'],
  parseConfig: parseKafkaExporterConfig,
  create: async (settings) => {
    if (settings.config.brokers.length === 0) throw new ConfigError('the kafka exporter needs Kafka: set KAFKA_BROKERS or exporters.kafka.brokers');
    return new KafkaExporter(settings.resources.kafka(), settings.config, settings.registry, settings.log);
  },
} satisfies ExporterFactory<KafkaExporterConfig>;
