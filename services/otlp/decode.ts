// Decodes OTLP trace data in either encoding: request bodies in the receiver, Kafka messages in the consumer.
import type { DecodedTraces } from './model.js';
import { decodeTracesJson } from './json.js';
import { decodeTracesProtobuf } from './protobuf.js';
import type { OtlpEncoding } from './response.js';

export function decodeTraces(encoding: OtlpEncoding, body: Buffer): DecodedTraces {
  return encoding === 'protobuf' ? decodeTracesProtobuf(body) : decodeTracesJson(body.toString('utf8'));
}
