// Decode stage: a Kafka message value is OTLP TracesData, protobuf or JSON as configured per topic
// (the OTel Collector kafka exporter sends no content-type header).
import type { KafkaEncoding } from '../shared/config.js';
import type { DecodedTraces } from '../shared/otlp/model.js';
import { decodeTracesJson } from '../shared/otlp/json.js';
import { decodeTracesProtobuf } from '../shared/otlp/protobuf.js';

export function decodeMessage(encoding: KafkaEncoding, value: Buffer | null): DecodedTraces {
  if (value === null || value.length === 0) return { data: { resourceSpans: [] }, spanCount: 0, rejectedSpans: 0, rejectionReason: '' };
  return encoding === 'otlp_proto' ? decodeTracesProtobuf(value) : decodeTracesJson(value.toString('utf8'));
}
