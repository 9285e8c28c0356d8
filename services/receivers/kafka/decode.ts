// Decode stage: a Kafka message value is OTLP TracesData, protobuf or JSON as configured per topic
// (the OTel Collector kafka exporter sends no content-type header).
import type { KafkaEncoding } from '../../shared/config.js';
import type { DecodedTraces } from '../../otlp/model.js';
import { decodeTraces } from '../../otlp/decode.js';

export function decodeMessage(encoding: KafkaEncoding, value: Buffer | null): DecodedTraces {
  if (value === null || value.length === 0) return { data: { resourceSpans: [] }, spanCount: 0, rejectedSpans: 0, rejectionReason: '' };
  return decodeTraces(encoding === 'otlp_proto' ? 'protobuf' : 'json', value);
}
