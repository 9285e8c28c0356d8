// Configuration: an OpenTelemetry-Collector-style YAML file (receivers / processors / exporters /
// service.pipelines) resolved into one typed object, then environment overrides on top.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import type { ModelPrice } from '../processors/genai/price-table.js';

export type KafkaEncoding = 'otlp_proto' | 'otlp_json';

export interface IngestLimits {
  maxSpansPerRequest: number;
  maxAttributesPerSpan: number;
  maxAttributeValueBytes: number;
  maxEventsPerSpan: number;
  /** Spans starting further in the future than this are rejected (partial success). */
  maxFutureSkewMs: number;
}

export interface PipelineConfig {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface Config {
  otlp: {
    host: string;
    port: number;
    maxBodyBytes: number;
    maxInflightBytes: number;
    /** PEM files; both set => HTTPS. */
    tls: { certFile: string; keyFile: string } | null;
    /** API key SHA-256 (hex) -> tenant; empty => no authentication. */
    apiKeys: Map<string, string>;
    limits: IngestLimits;
  };
  kafka: {
    brokers: string[];
    topic: string;
    partitions: number;
    /** Encoding the consumer reads; the receiver always writes otlp_proto. */
    encoding: KafkaEncoding;
    groupId: string;
    /** Consumer group session timeout: how long a dead member holds its partitions. */
    sessionTimeoutMs: number;
    clientId: string;
    produceTimeoutMs: number;
    /** The receiver's producer (exporters/kafka/producers.ts); the consumer always uses kafkajs. */
    producerClient: 'kafkajs' | 'librdkafka';
    /** Messages written per trace with the lowercase hex trace id as key (collector partition_traces_by_id). */
    partitionTracesById: boolean;
  };
  tenancy: { tenant: string; env: string };
  genai: { contentMaxBytes: number; noContentTenants: string[]; prices: ModelPrice[] };
  /** maxConcurrentFlushes: INSERTs at once across the consumer's partitions; a due batch waits (and grows) for a free one. */
  batch: { maxRows: number; maxDelayMs: number; maxConcurrentFlushes: number };
  clickhouse: {
    url: string;
    dataDir: string;
    database: string;
    username: string;
    password: string;
    ttlDays: number;
    migrateOnStart: boolean;
    /** Per HTTP request: a server that answers slower counts as failed (and the INSERT is retried with its token). */
    timeoutMs: number;
    /** The local server's ports when `url` is empty (0 = chosen by the OS). */
    server: { httpPort: number; tcpPort: number };
    /** Tenants that get a read user restricted to their rows. */
    tenants: string[];
  };
  /** port null = the service's default: 8888, or 8889 for `tracehouse consumer` (both run on one machine). */
  admin: { host: string; port: number | null };
  pipelines: Record<string, PipelineConfig>;
  /** The component sections as written (after ${env:} expansion), for factories that parse their own settings (redaction). */
  sections: Record<'receivers' | 'processors' | 'exporters', Record<string, unknown>>;
}

export { ConfigError };

type Node = Record<string, unknown>;

/** The YAML path of each section node() handed out, so that an error names where the bad value is. */
const PATHS = new WeakMap<object, string>();

function node(parent: unknown, ...path: string[]): Node {
  let cur: unknown = parent;
  for (const key of path) {
    cur = typeof cur === 'object' && cur !== null ? (cur as Node)[key] : undefined;
  }
  const out = typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? { ...(cur as Node) } : {};
  const base = typeof parent === 'object' && parent !== null ? PATHS.get(parent) : undefined;
  PATHS.set(out, [...(base ? [base] : []), ...path].join('.'));
  return out;
}

/** `key` of section `n` as the user wrote it: receivers.otlp.protocols.http.endpoint, or an environment variable's name. */
function at(n: Node, key: string): string {
  const base = PATHS.get(n);
  return base ? `${base}.${key}` : key;
}

/** An integer environment override, named in its error; undefined when the variable is unset. */
function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  return env[name] === undefined ? undefined : int({ [name]: env[name] }, name, 0);
}

const ENV_REF = /\$\$|\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The Collector's environment references in string values: `${env:NAME}`, `${env:NAME:-default}`
 * (the default when NAME is unset or empty), `$$` for a literal `$`. An unset variable without a
 * default expands to the empty string, as in the Collector. A value that is nothing but one
 * reference takes the type its expansion has in YAML (`${env:PORT}` gives a number).
 */
export function expandEnv(v: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (Array.isArray(v)) return v.map((item, i) => expandEnv(item, env, `${path}[${i}]`));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, expandEnv(item, env, path ? `${path}.${k}` : k)]));
  if (typeof v !== 'string' || !v.includes('$')) return v;
  const expanded = v.replace(ENV_REF, (whole, ref: string | undefined) => {
    if (ref === undefined) return '$';
    const m = /^env:([^:]*)(?::-(.*))?$/s.exec(ref);
    if (!m) throw new ConfigError(`${path}: unsupported reference ${whole} (use \${env:NAME} or \${env:NAME:-default}; $$ is a literal $)`);
    const [, name = '', fallback] = m;
    if (!ENV_NAME.test(name)) throw new ConfigError(`${path}: ${whole} is not a valid environment variable name`);
    const value = env[name];
    return value === undefined || value === '' ? (fallback ?? '') : value;
  });
  const whole = /^\$\{env:[^}]*\}$/.test(v);
  return whole && expanded !== '' ? parseYaml(expanded) : expanded;
}

function str(n: Node, key: string, fallback: string): string {
  const v = n[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${at(n, key)} must be a string`);
  return String(v);
}

function int(n: Node, key: string, fallback: number): number {
  const v = n[key];
  if (v === undefined || v === null) return fallback;
  const parsed = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(parsed) || parsed < 0) throw new ConfigError(`${at(n, key)} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return parsed;
}

function strList(n: Node, key: string): string[] {
  const v = n[key];
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'string') return splitList(v);
  if (!Array.isArray(v)) throw new ConfigError(`${at(n, key)} must be a list`);
  return v.map(String);
}

function splitList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

/** Collector duration syntax: "500ms", "1s", "2m", "720h"; a bare number is milliseconds. */
function producerClient(v: string): 'kafkajs' | 'librdkafka' {
  if (v !== 'kafkajs' && v !== 'librdkafka') throw new ConfigError(`exporters.kafka.client must be kafkajs or librdkafka, got ${v}`);
  return v;
}

export function parseDurationMs(v: unknown, key: string): number {
  if (typeof v === 'number' && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim()) : null;
  if (!m) throw new ConfigError(`${key} must be a duration like 500ms, 1s, 2m or 720h, got ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function duration(n: Node, key: string, fallbackMs: number): number {
  return n[key] === undefined ? fallbackMs : parseDurationMs(n[key], at(n, key));
}

/** The address a local client reaches a listener on: a wildcard listen host means this machine. */
export function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

export function parseHostPort(endpoint: string, key: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(endpoint);
  if (!m) throw new ConfigError(`${key} must be host:port, got ${JSON.stringify(endpoint)}`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Builds the typed config from the parsed YAML document (an empty object gives the laptop defaults). */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = expandEnv(raw, env);
  const http = node(doc, 'receivers', 'otlp', 'protocols', 'http');
  const limits = node(doc, 'receivers', 'otlp', 'limits');
  const kafkaIn = node(doc, 'receivers', 'kafka');
  const kafkaOut = node(doc, 'exporters', 'kafka');
  const attrs = node(doc, 'processors', 'attributes');
  const batch = node(doc, 'processors', 'batch');
  const genai = node(doc, 'processors', 'genai');
  const ch = node(doc, 'exporters', 'clickhouse');
  const chServer = node(doc, 'exporters', 'clickhouse', 'server');
  const metrics = node(doc, 'service', 'telemetry', 'metrics');

  const otlp = parseHostPort(env.OTLP_HTTP_ENDPOINT ?? str(http, 'endpoint', '0.0.0.0:4318'), 'receivers.otlp.protocols.http.endpoint');
  const adminEndpoint = env.TRACEHOUSE_ADMIN_ENDPOINT ?? str(metrics, 'address', '');
  const admin = adminEndpoint === '' ? { host: '127.0.0.1', port: null } : parseHostPort(adminEndpoint, env.TRACEHOUSE_ADMIN_ENDPOINT !== undefined ? 'TRACEHOUSE_ADMIN_ENDPOINT' : 'service.telemetry.metrics.address');
  const brokersFromFile = strList(kafkaOut, 'brokers').length > 0 ? strList(kafkaOut, 'brokers') : strList(kafkaIn, 'brokers');
  const encoding = (env.KAFKA_ENCODING ?? str(kafkaIn, 'encoding', 'otlp_proto')) as KafkaEncoding;
  if (encoding !== 'otlp_proto' && encoding !== 'otlp_json') throw new ConfigError(`receivers.kafka.encoding must be otlp_proto or otlp_json, got ${encoding}`);
  const exporterEncoding = str(kafkaOut, 'encoding', 'otlp_proto');
  if (exporterEncoding !== 'otlp_proto') throw new ConfigError('exporters.kafka.encoding: the receiver writes otlp_proto only');

  const config: Config = {
    otlp: {
      ...otlp,
      maxBodyBytes: int(http, 'max_request_body_size', 20 * 1024 * 1024),
      maxInflightBytes: int(http, 'max_inflight_bytes', 256 * 1024 * 1024),
      tls: readTls(node(http, 'tls'), env),
      apiKeys: readApiKeys(node(doc, 'receivers', 'otlp', 'auth'), env),
      limits: {
        maxSpansPerRequest: int(limits, 'max_spans_per_request', 100_000),
        maxAttributesPerSpan: int(limits, 'max_attributes_per_span', 512),
        maxAttributeValueBytes: int(limits, 'max_attribute_value_bytes', 256 * 1024),
        maxEventsPerSpan: int(limits, 'max_events_per_span', 1024),
        maxFutureSkewMs: duration(limits, 'max_future_skew', 86_400_000),
      },
    },
    kafka: {
      brokers: env.KAFKA_BROKERS !== undefined ? splitList(env.KAFKA_BROKERS) : brokersFromFile,
      topic: env.KAFKA_TOPIC ?? str(kafkaOut, 'topic', str(kafkaIn, 'topic', 'otel-spans')),
      partitions: envInt(env, 'KAFKA_TOPIC_PARTITIONS') ?? int(kafkaOut, 'topic_partitions', 3),
      encoding,
      groupId: env.KAFKA_GROUP_ID ?? str(kafkaIn, 'group_id', 'tracehouse-consumer'),
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT !== undefined ? parseDurationMs(env.KAFKA_SESSION_TIMEOUT, 'KAFKA_SESSION_TIMEOUT') : duration(kafkaIn, 'session_timeout', 30_000),
      clientId: str(kafkaOut, 'client_id', 'tracehouse'),
      produceTimeoutMs: duration(kafkaOut, 'timeout', 5000),
      producerClient: producerClient(env.KAFKA_PRODUCER_CLIENT ?? str(kafkaOut, 'client', 'kafkajs')),
      partitionTracesById: kafkaOut.partition_traces_by_id !== false,
    },
    tenancy: {
      tenant: env.TRACEHOUSE_DEFAULT_TENANT ?? str(attrs, 'default_tenant', 'default'),
      env: env.TRACEHOUSE_DEFAULT_ENV ?? str(attrs, 'default_env', 'unknown'),
    },
    genai: {
      contentMaxBytes: envInt(env, 'TRACEHOUSE_CONTENT_MAX_BYTES') ?? int(genai, 'content_max_bytes', 16 * 1024),
      noContentTenants: strList(genai, 'no_content_tenants'),
      prices: readPrices(genai.prices),
    },
    batch: {
      maxRows: envInt(env, 'BATCH_MAX_ROWS') ?? int(batch, 'send_batch_size', 30_000),
      maxDelayMs: env.BATCH_TIMEOUT !== undefined ? parseDurationMs(env.BATCH_TIMEOUT, 'BATCH_TIMEOUT') : duration(batch, 'timeout', 1000),
      maxConcurrentFlushes: envInt(env, 'BATCH_MAX_CONCURRENT_FLUSHES') ?? int(batch, 'max_concurrent_flushes', 1),
    },
    clickhouse: {
      url: env.CLICKHOUSE_URL ?? str(ch, 'endpoint', ''),
      dataDir: env.TRACEHOUSE_DATA_DIR ?? str(ch, 'data_dir', './data'),
      database: env.CLICKHOUSE_DATABASE ?? str(ch, 'database', 'telemetry'),
      username: env.CLICKHOUSE_USER ?? str(ch, 'username', 'default'),
      password: env.CLICKHOUSE_PASSWORD ?? str(ch, 'password', ''),
      timeoutMs: env.CLICKHOUSE_TIMEOUT !== undefined ? parseDurationMs(env.CLICKHOUSE_TIMEOUT, 'CLICKHOUSE_TIMEOUT') : duration(ch, 'timeout', 60_000),
      migrateOnStart: (env.TRACEHOUSE_MIGRATE_ON_START ?? String(ch.migrate_on_start ?? true)) !== 'false',
      ttlDays: envInt(env, 'CLICKHOUSE_TTL_DAYS') ?? Math.round(duration(ch, 'ttl', 30 * 86_400_000) / 86_400_000),
      server: {
        httpPort: envInt(env, 'CLICKHOUSE_HTTP_PORT') ?? int(chServer, 'http_port', 8123),
        tcpPort: envInt(env, 'CLICKHOUSE_TCP_PORT') ?? int(chServer, 'tcp_port', 9000),
      },
      tenants: env.TRACEHOUSE_TENANTS !== undefined ? env.TRACEHOUSE_TENANTS.split(',').map((t) => t.trim()).filter(Boolean) : strList(ch, 'tenants'),
    },
    admin,
    pipelines: readPipelines(doc),
    sections: { receivers: node(doc, 'receivers'), processors: node(doc, 'processors'), exporters: node(doc, 'exporters') },
  };
  for (const [name, p] of Object.entries(config.pipelines)) {
    if (p.processors.includes('redaction') && !p.receivers.includes('otlp')) throw new ConfigError(`service.pipelines.${name}: the redaction processor runs where spans are received (a pipeline with the otlp receiver), so raw content never reaches Kafka`);
  }
  if (config.batch.maxRows < 1) throw new ConfigError('processors.batch.send_batch_size must be at least 1');
  if (config.kafka.partitions < 1) throw new ConfigError('exporters.kafka.topic_partitions must be at least 1');
  if (config.batch.maxConcurrentFlushes < 1) throw new ConfigError('processors.batch.max_concurrent_flushes must be at least 1');
  if (!(config.kafka.produceTimeoutMs > 0)) throw new ConfigError('exporters.kafka.timeout must be more than 0');
  // Kafka brokers refuse a session timeout under group.min.session.timeout.ms (6 s by default).
  if (config.kafka.sessionTimeoutMs < 6000) throw new ConfigError(`${env.KAFKA_SESSION_TIMEOUT !== undefined ? 'KAFKA_SESSION_TIMEOUT' : 'receivers.kafka.session_timeout'} must be at least 6s (the broker's group.min.session.timeout.ms)`);
  if (!(config.clickhouse.timeoutMs > 0)) throw new ConfigError(`${env.CLICKHOUSE_TIMEOUT !== undefined ? 'CLICKHOUSE_TIMEOUT' : 'exporters.clickhouse.timeout'} must be more than 0`);
  if (config.clickhouse.ttlDays < 1) throw new ConfigError('exporters.clickhouse.ttl must be at least one day');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(config.clickhouse.database)) throw new ConfigError('exporters.clickhouse.database must be a plain identifier');
  return config;
}

function readTls(tls: Node, env: NodeJS.ProcessEnv): Config['otlp']['tls'] {
  const certFile = env.OTLP_TLS_CERT_FILE ?? str(tls, 'cert_file', '');
  const keyFile = env.OTLP_TLS_KEY_FILE ?? str(tls, 'key_file', '');
  if (certFile === '' && keyFile === '') return null;
  if (certFile === '' || keyFile === '') throw new ConfigError('receivers.otlp.protocols.http.tls needs both cert_file and key_file');
  return { certFile, keyFile };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * API keys are configured hashed: `sha256hex:tenant` entries in TRACEHOUSE_API_KEYS (comma
 * separated) or in receivers.otlp.auth.api_keys / the YAML file auth.api_keys_file
 * ([{ sha256, tenant }]). `tracehouse hash-key KEY` prints the hash of a key.
 */
function readApiKeys(auth: Node, env: NodeJS.ProcessEnv): Map<string, string> {
  const entries: Array<{ sha256: string; tenant: string }> = [];
  for (const item of splitList(env.TRACEHOUSE_API_KEYS ?? '')) {
    const [sha256 = '', tenant = ''] = item.split(':');
    entries.push({ sha256, tenant });
  }
  const file = env.TRACEHOUSE_API_KEYS_FILE ?? str(auth, 'api_keys_file', '');
  const fromFile = file === '' ? [] : (node(parseYaml(readFileSync(file, 'utf8')) as unknown).api_keys ?? []);
  for (const raw of [...(Array.isArray(auth.api_keys) ? auth.api_keys : []), ...(Array.isArray(fromFile) ? fromFile : [])]) {
    entries.push({ sha256: str(node(raw), 'sha256', ''), tenant: str(node(raw), 'tenant', '') });
  }
  const keys = new Map<string, string>();
  for (const { sha256, tenant } of entries) {
    if (!SHA256_HEX.test(sha256.toLowerCase())) throw new ConfigError('API keys are configured as the lowercase hex SHA-256 of the key (tracehouse hash-key KEY)');
    if (tenant === '') throw new ConfigError('every API key needs a tenant');
    keys.set(sha256.toLowerCase(), tenant);
  }
  return keys;
}

const PRICE_NUMBERS = ['input', 'output', 'cache_read', 'cache_write', 'reasoning'] as const;

/** processors.genai.prices: rows added to or overriding the shipped model price table. */
function readPrices(raw: unknown): ModelPrice[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError('processors.genai.prices must be a list');
  return raw.map((item: unknown, i) => {
    const n = node(item);
    const where = `processors.genai.prices[${i}]`;
    const model = str(n, 'model', '');
    if (model === '') throw new ConfigError(`${where}.model is required`);
    const from = str(n, 'effective_from', '1970-01-01');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) throw new ConfigError(`${where}.effective_from must be YYYY-MM-DD`);
    const price: ModelPrice = { provider: str(n, 'provider', ''), model, aliases: strList(n, 'aliases'), effective_from: from, input: 0, output: 0 };
    for (const key of PRICE_NUMBERS) {
      const v = n[key];
      if (v === undefined) {
        if (key === 'input' || key === 'output') throw new ConfigError(`${where}.${key} (USD per 1M tokens) is required`);
        continue;
      }
      if (typeof v !== 'number' || !(v >= 0)) throw new ConfigError(`${where}.${key} must be a non-negative number`);
      price[key] = v;
    }
    return price;
  });
}

const DEFAULT_PIPELINES: Record<string, PipelineConfig> = {
  'traces/ingest': { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] },
  'traces/store': { receivers: ['kafka'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
};

const KNOWN = { receivers: ['otlp', 'kafka'], processors: ['attributes', 'redaction', 'genai', 'batch'], exporters: ['kafka', 'clickhouse'] };
const KINDS = ['receivers', 'processors', 'exporters'] as const;

/**
 * service.pipelines, checked as the Collector checks it: every id is a known type configured in its
 * section (an empty `otlp:` counts), and every pipeline has a receiver and an exporter. Each type has
 * one instance: the Collector's `type/name` ids are refused, not silently read as `type`.
 */
function readPipelines(doc: unknown): Record<string, PipelineConfig> {
  const pipelines = node(doc, 'service', 'pipelines');
  if (Object.keys(pipelines).length === 0) return DEFAULT_PIPELINES;
  const out: Record<string, PipelineConfig> = {};
  for (const [name, raw] of Object.entries(pipelines)) {
    const p = node(pipelines, name);
    const where = `service.pipelines.${name}`;
    if (!/^traces(\/[A-Za-z0-9_.-]+)?$/.test(name)) throw new ConfigError(`${where}: only traces pipelines exist (traces or traces/NAME)`);
    if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${where} must be a map with receivers, processors and exporters`);
    const pipeline: PipelineConfig = { receivers: strList(p, 'receivers'), processors: strList(p, 'processors'), exporters: strList(p, 'exporters') };
    for (const kind of KINDS) {
      const configured = (doc as Node)[kind];
      pipeline[kind].forEach((id, i) => {
        const what = kind.slice(0, -1);
        if (id.includes('/') && KNOWN[kind].includes(id.split('/')[0]!)) throw new ConfigError(`${where}.${kind}[${i}]: "${id}": named instances (type/name) are not supported; use "${id.split('/')[0]}"`);
        if (!KNOWN[kind].includes(id)) throw new ConfigError(`${where}.${kind}[${i}]: unknown ${what} "${id}" (known types: ${KNOWN[kind].join(', ')})`);
        if (typeof configured !== 'object' || configured === null || !(id in configured)) throw new ConfigError(`${where}.${kind}[${i}]: ${what} "${id}" is not configured: add it under ${kind}: (\`${id}:\` with no settings takes the defaults)`);
      });
      if (new Set(pipeline[kind]).size !== pipeline[kind].length) throw new ConfigError(`${where}.${kind} lists a component twice`);
    }
    if (pipeline.receivers.length === 0) throw new ConfigError(`${where}: a pipeline needs at least one receiver`);
    if (pipeline.receivers.includes('otlp') && pipeline.processors[0] !== 'attributes') throw new ConfigError(`${where}.processors: a pipeline with the otlp receiver starts with the attributes processor (it stamps tenant_id and env, and an API key's tenant)`);
    if (pipeline.exporters.length === 0) throw new ConfigError(`${where}: a pipeline needs at least one exporter`);
    out[name] = pipeline;
  }
  return out;
}

/** Loads TRACEHOUSE_CONFIG, or ./otel-collector.yaml when present, or the built-in defaults. */
export function loadConfig(path = process.env.TRACEHOUSE_CONFIG, env: NodeJS.ProcessEnv = process.env): Config {
  const file = path ?? (existsSync('otel-collector.yaml') ? 'otel-collector.yaml' : undefined);
  if (file === undefined) return resolveConfig({}, env);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  return resolveConfig(doc ?? {}, env);
}
