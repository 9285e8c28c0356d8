// The Kafka producer behind the receiver's exporter, one small interface with two clients:
//   librdkafka  (@confluentinc/kafka-javascript, the `auto` default when it loads: about half the
//               CPU per span of kafkajs, and with linger fewer, larger produce requests: README,
//               Benchmark). An optional dependency: npm installs its prebuilt binary where GitHub
//               is reachable; scripts/kafka/native-client.sh builds it from source where not.
//   kafkajs     (pure JavaScript; what `auto` falls back to, saying so in the log)
// Both write acks=all and partition keyed messages with murmur2 as the Java client does, so a
// trace id lands on the same partition whichever client wrote it.
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Compression, KafkaExporterConfig, ProducerClient } from './config.js';
import { ConfigError } from '../../shared/config-error.js';
import { PermanentError, causeChain } from '../../shared/errors.js';
import { KafkaJSProtocolError } from '../../shared/kafka.js';
import type { Logger } from '../../shared/log.js';

export interface ProducerMessage {
  key: string | null;
  value: Buffer;
}

export interface SpanProducer {
  /** The client actually producing (`auto` resolved). */
  readonly client: ProducerClient;
  connect(): Promise<void>;
  /** Resolves once every message is acknowledged by all in-sync replicas (acks=all). */
  send(topic: string, messages: ProducerMessage[]): Promise<void>;
  connected(): boolean;
  disconnect(): Promise<void>;
}

/** Kafka refuses a message as larger than it takes: the data can never be written. */
const tooLarge = (err: unknown): PermanentError => new PermanentError(`a span is larger than the Kafka message limit: ${(err as Error).message}`, 'too_large', { cause: err });

const NATIVE_CLIENT_PACKAGE = '@confluentinc/kafka-javascript';

/** What the receiver uses of @confluentinc/kafka-javascript's KafkaJS-compatible API. */
interface NativeKafkaJS {
  logLevel: { ERROR: number; WARN: number };
  Kafka: new (config: object) => { producer(config: object): { connect(): Promise<void>; send(r: { topic: string; messages: ProducerMessage[] }): Promise<unknown>; disconnect(): Promise<void> } };
}

/** The librdkafka client's module, or why it cannot be loaded (not installed, not built for this platform). */
export async function loadNativeClient(): Promise<NativeKafkaJS | Error> {
  try {
    // Imported by name at run time: the package is optional.
    const name = NATIVE_CLIENT_PACKAGE;
    return ((await import(name)) as { KafkaJS: NativeKafkaJS }).KafkaJS;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The configured client; `auto` is librdkafka when `load` gives it, else kafkajs with a warning. */
export async function createSpanProducer(kafka: Kafka, cfg: KafkaExporterConfig, log: Logger, load = loadNativeClient): Promise<SpanProducer> {
  if (cfg.producerClient === 'kafkajs') return kafkajsProducer(kafka, cfg);
  const native = await load();
  if (!(native instanceof Error)) return librdkafkaProducer(native, cfg, log);
  const why = `${NATIVE_CLIENT_PACKAGE} cannot be loaded (install it with scripts/kafka/native-client.sh): ${native.message}`;
  if (cfg.producerClient === 'librdkafka') throw new Error(`exporters.kafka.client is librdkafka but ${why}`);
  const fallback = kafkajsProducer(kafka, cfg, why);
  log.warn('kafka producer: librdkafka unavailable, producing with kafkajs', { reason: why });
  return fallback;
}

/** What kafkajs can write (snappy and lz4 through shared/kafka-codecs.ts); zstd only librdkafka. */
const KAFKAJS_COMPRESSION: Partial<Record<Compression, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/** `nativeMissing`: why librdkafka is not used, when kafkajs is the fallback of `auto`. */
function kafkajsProducer(kafka: Kafka, cfg: KafkaExporterConfig, nativeMissing?: string): SpanProducer {
  const compression = KAFKAJS_COMPRESSION[cfg.compression];
  if (compression === undefined) {
    throw new ConfigError(`exporters.kafka.producer.compression ${cfg.compression} needs the librdkafka client, kafkajs cannot write it: ${nativeMissing ?? 'exporters.kafka.client is kafkajs'}`);
  }
  // Writes are retried a few times inside kafkajs; past the deadline the client gets a 503 and retries itself.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));
  return {
    client: 'kafkajs',
    connect: () => producer.connect(),
    send: async (topic, messages) => {
      try {
        await producer.send({ topic, acks: -1, timeout: cfg.produceTimeoutMs, compression, messages });
      } catch (err) {
        if ([...causeChain(err)].some((e) => e instanceof KafkaJSProtocolError && e.type === 'MESSAGE_TOO_LARGE')) throw tooLarge(err);
        throw err;
      }
    },
    connected: () => connected,
    disconnect: () => producer.disconnect(),
  };
}

/** RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, as the broker or librdkafka itself reports it. */
const TOO_LARGE_CODES = new Set([10]);

function librdkafkaProducer(native: NativeKafkaJS, cfg: KafkaExporterConfig, log: Logger): SpanProducer {
  const clientLog = log.child('librdkafka');
  const logger = {
    info: () => undefined,
    debug: () => undefined,
    warn: (message: string, extra?: object) => clientLog.warn(message, { ...extra }),
    error: (message: string, extra?: object) => clientLog.error(message, { ...extra }),
    namespace: () => logger,
    setLogLevel: () => undefined,
  };
  const kafka = new native.Kafka({ kafkaJS: { brokers: cfg.brokers, clientId: cfg.clientId, connectionTimeout: 3000, logger, logLevel: native.logLevel.WARN } });
  const producer = kafka.producer({
    kafkaJS: { acks: -1, timeout: cfg.produceTimeoutMs, allowAutoTopicCreation: false },
    // Each send() is awaited by an HTTP request, so lingering delays an answer by up to linger.ms;
    // at load it lets concurrent requests share produce requests, which costs the receiver and the
    // broker less per span (README, Benchmark). A message not acknowledged within the produce
    // deadline fails inside librdkafka too, rather than being delivered after the 503.
    'linger.ms': cfg.lingerMs,
    'compression.codec': cfg.compression,
    'message.timeout.ms': cfg.produceTimeoutMs,
  });
  let connected = false;
  return {
    client: 'librdkafka',
    connect: async () => {
      await producer.connect();
      connected = true;
    },
    send: async (topic, messages) => {
      try {
        await producer.send({ topic, messages });
      } catch (err) {
        if (TOO_LARGE_CODES.has(Number((err as { code?: unknown }).code)) || /too large/i.test((err as Error).message)) throw tooLarge(err);
        throw err;
      }
    },
    // librdkafka reconnects by itself; readiness is that the client connected once and is not closed.
    connected: () => connected,
    disconnect: async () => {
      connected = false;
      await producer.disconnect();
    },
  };
}
