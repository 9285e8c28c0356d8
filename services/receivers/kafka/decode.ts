// Decode stage: a Kafka message value is OTLP TracesData, protobuf or JSON as configured per topic
// (the OTel Collector kafka exporter sends no content-type header).
import { KAFKA_ENCODINGS, type KafkaEncoding } from './config.js';
import { type DecodedTraces, OtlpDecodeError } from '../../otlp/model.js';
import { decodeTraces } from '../../otlp/decode.js';
import { ConfigError } from '../../shared/config-error.js';

function decodeAs(encoding: KafkaEncoding, value: Buffer): DecodedTraces {
  return decodeTraces(encoding === 'otlp_proto' ? 'protobuf' : 'json', value);
}

/**
 * A message that is not `encoding` but holds spans in the other one means the consumer is
 * configured for the wrong topic encoding: a ConfigError (stop and say so), not a poison message.
 */
export function decodeMessage(encoding: KafkaEncoding, value: Buffer | null): DecodedTraces {
  if (value === null || value.length === 0) return { data: { resourceSpans: [] }, spanCount: 0, rejectedSpans: 0, rejectionReason: '' };
  try {
    return decodeAs(encoding, value);
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
    const other = KAFKA_ENCODINGS.find((e) => e !== encoding)!;
    let decodesAsOther = false;
    try {
      decodesAsOther = decodeAs(other, value).spanCount > 0;
    } catch {
      // Neither encoding: a poison message.
    }
    if (decodesAsOther) throw new ConfigError(`the topic holds ${other} messages but receivers.kafka.encoding (KAFKA_ENCODING) is ${encoding}: set KAFKA_ENCODING=${other}; the consumer stops without dead-lettering or committing them`, { cause: err });
    throw err;
  }
}
