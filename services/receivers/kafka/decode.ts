// Decode stage: a Kafka message value is OTLP TracesData or LogsData (by topic), protobuf or JSON as
// configured per topic (the OTel Collector kafka exporter sends no content-type header).
import { KAFKA_ENCODINGS, type KafkaEncoding } from './config.js';
import { type LogsData, OtlpDecodeError, type Signal, type TracesData } from '../../otlp/model.js';
import { decodeLogs, decodeTraces } from '../../otlp/decode.js';
import { ConfigError } from '../../shared/config-error.js';

interface MessageDecoder<D> {
  decode(encoding: KafkaEncoding, value: Buffer): { data: D; items: number };
  empty(): D;
}

const otlpEncoding = (encoding: KafkaEncoding): 'protobuf' | 'json' => (encoding === 'otlp_proto' ? 'protobuf' : 'json');

const TRACES: MessageDecoder<TracesData> = {
  decode: (encoding, value) => {
    const decoded = decodeTraces(otlpEncoding(encoding), value);
    return { data: decoded.data, items: decoded.spanCount };
  },
  empty: () => ({ resourceSpans: [] }),
};

const LOGS: MessageDecoder<LogsData> = {
  decode: (encoding, value) => {
    const decoded = decodeLogs(otlpEncoding(encoding), value);
    return { data: decoded.data, items: decoded.recordCount };
  },
  empty: () => ({ resourceLogs: [] }),
};

/**
 * A message that is not `encoding` but holds data in the other one means the consumer is
 * configured for the wrong topic encoding: a ConfigError (stop and say so), not a poison message.
 */
function decodeWith<D>(decoder: MessageDecoder<D>, signal: Signal, encoding: KafkaEncoding, value: Buffer | null): D {
  if (value === null || value.length === 0) return decoder.empty();
  try {
    return decoder.decode(encoding, value).data;
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
    const other = KAFKA_ENCODINGS.find((e) => e !== encoding)!;
    let decodesAsOther = false;
    try {
      decodesAsOther = decoder.decode(other, value).items > 0;
    } catch {
      // Neither encoding: a poison message.
    }
    const setting = signal === 'traces' ? 'receivers.kafka.encoding (KAFKA_ENCODING)' : 'receivers.kafka.logs.encoding (KAFKA_LOGS_ENCODING)';
    const variable = signal === 'traces' ? 'KAFKA_ENCODING' : 'KAFKA_LOGS_ENCODING';
    if (decodesAsOther) throw new ConfigError(`the ${signal} topic holds ${other} messages but ${setting} is ${encoding}: set ${variable}=${other}; the consumer stops without dead-lettering or committing them`, { cause: err });
    throw err;
  }
}

export function decodeTracesMessage(encoding: KafkaEncoding, value: Buffer | null): TracesData {
  return decodeWith(TRACES, 'traces', encoding, value);
}

export function decodeLogsMessage(encoding: KafkaEncoding, value: Buffer | null): LogsData {
  return decodeWith(LOGS, 'logs', encoding, value);
}
