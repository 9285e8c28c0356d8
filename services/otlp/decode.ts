// Decodes OTLP data in either encoding: request bodies in the receiver, Kafka messages in the consumer.
import type { DecodedLogs, DecodedTraces } from './model.js';
import { decodeLogsJson, decodeTracesJson } from './json.js';
import { decodeLogsProtobuf, decodeTracesProtobuf } from './protobuf.js';
import type { OtlpEncoding } from './response.js';

export function decodeTraces(encoding: OtlpEncoding, body: Buffer): DecodedTraces {
  return encoding === 'protobuf' ? decodeTracesProtobuf(body) : decodeTracesJson(body.toString('utf8'));
}

export function decodeLogs(encoding: OtlpEncoding, body: Buffer): DecodedLogs {
  return encoding === 'protobuf' ? decodeLogsProtobuf(body) : decodeLogsJson(body.toString('utf8'));
}
