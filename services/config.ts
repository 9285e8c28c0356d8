// The configuration of a Tracehouse process: an OpenTelemetry-Collector-style YAML file (receivers /
// processors / exporters / service) with `${env:NAME}` substitution and the documented environment
// overrides. Each component's section is parsed and validated by its own factory (parseConfig);
// this file adds what belongs to the service: its pipelines, the admin endpoint, where Kafka is.
import { existsSync } from 'node:fs';
import type { ComponentKind, Factory } from './component/component.js';
import { type FactoryRegistry, type PipelineConfig, SIGNALS, signalOf } from './component/builder.js';
import { type ComponentConfigs, components } from './component/registry.js';
import { ConfigError, Section, expandEnv, readYamlFile } from './shared/config.js';
import { type KafkaConnection, parseKafkaConnection } from './shared/kafka.js';

export type { PipelineConfig };

export type Config = ComponentConfigs & {
  pipelines: Record<string, PipelineConfig>;
  /** port null = the service's default: 8888, or 8889 for `tracehouse consumer` (both run on one machine). */
  admin: { host: string; port: number | null };
  /** The Kafka this process connects to: exporters.kafka's brokers, else receivers.kafka's. */
  kafka: KafkaConnection;
};

const KINDS: readonly ComponentKind[] = ['receiver', 'processor', 'exporter'];

/**
 * Builds the config from a parsed YAML document (an empty one gives the laptop defaults). The
 * components a pipeline lists are parsed now, so a bad value stops the process before it starts;
 * the others when first read, so that a section no pipeline uses is not refused (as in the Collector).
 */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, registry: FactoryRegistry = components): Config {
  const root = new Section(expandEnv(raw, env), '', env);
  const pipelines = readPipelines(root, registry);
  const used = new Set(Object.values(pipelines).flatMap((p) => KINDS.flatMap((kind) => p[`${kind}s`].map((id) => `${kind}:${id}`))));
  const sections = {} as Record<`${ComponentKind}s`, Record<string, unknown>>;
  for (const kind of KINDS) {
    const section = (sections[`${kind}s`] = {} as Record<string, unknown>);
    for (const type of registry.types(kind)) {
      const factory: Factory = registry.get(kind, type, `${kind}s`);
      let parsed: { value: unknown } | undefined;
      const get = (): unknown => (parsed ??= { value: factory.parseConfig(root.child(`${kind}s`, type)) }).value;
      Object.defineProperty(section, type, { enumerable: true, get });
      if (used.has(`${kind}:${type}`)) get();
    }
  }
  const metrics = root.child('service', 'telemetry', 'metrics');
  const adminEndpoint = metrics.str('address', '', 'TRACEHOUSE_ADMIN_ENDPOINT');
  const exporterKafka = parseKafkaConnection(root.child('exporters', 'kafka'));
  return {
    ...(sections as ComponentConfigs),
    pipelines,
    admin: adminEndpoint === '' ? { host: '127.0.0.1', port: null } : metrics.endpoint('address', '', 'TRACEHOUSE_ADMIN_ENDPOINT'),
    kafka: exporterKafka.brokers.length > 0 ? exporterKafka : parseKafkaConnection(root.child('receivers', 'kafka')),
  };
}

/** Loads TRACEHOUSE_CONFIG, or ./otel-collector.yaml when present, or the built-in defaults. */
export function loadConfig(path = process.env.TRACEHOUSE_CONFIG, env: NodeJS.ProcessEnv = process.env): Config {
  const file = path ?? (existsSync('otel-collector.yaml') ? 'otel-collector.yaml' : undefined);
  return resolveConfig(file === undefined ? {} : readYamlFile(file), env);
}

const DEFAULT_PIPELINES: Record<string, PipelineConfig> = {
  'traces/ingest': { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] },
  'traces/store': { receivers: ['kafka'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
  'logs/ingest': { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] },
  'logs/store': { receivers: ['kafka'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
};

/**
 * service.pipelines, checked as the Collector checks it: every id is a registered type configured
 * in its section (an empty `otlp:` counts), and every pipeline has a receiver and an exporter. Each
 * type has one instance: the Collector's `type/name` ids are refused, not silently read as `type`.
 */
function readPipelines(root: Section, registry: FactoryRegistry): Record<string, PipelineConfig> {
  const section = root.child('service', 'pipelines');
  if (section.keys().length === 0) return DEFAULT_PIPELINES;
  const out: Record<string, PipelineConfig> = {};
  for (const name of section.keys()) {
    const p = section.child(name);
    const where = p.path;
    if (signalOf(name) === undefined || !/^[a-z]+(\/[A-Za-z0-9_.-]+)?$/.test(name)) throw new ConfigError(`${where}: a pipeline is named after its signal: ${SIGNALS.map((s) => `${s} or ${s}/NAME`).join(', ')}`);
    if (typeof p.raw !== 'object' || p.raw === null) throw new ConfigError(`${where} must be a map with receivers, processors and exporters`);
    const pipeline: PipelineConfig = { receivers: p.list('receivers'), processors: p.list('processors'), exporters: p.list('exporters') };
    for (const kind of KINDS) {
      const ids = pipeline[`${kind}s`];
      const known = registry.types(kind);
      ids.forEach((id, i) => {
        const at = `${where}.${kind}s[${i}]`;
        const [type = ''] = id.split('/');
        if (id.includes('/') && known.includes(type)) throw new ConfigError(`${at}: "${id}": named instances (type/name) are not supported; use "${type}"`);
        if (!known.includes(id)) throw new ConfigError(`${at}: unknown ${kind} "${id}" (known types: ${known.join(', ')})`);
        if (!root.child(`${kind}s`).keys().includes(id)) throw new ConfigError(`${at}: ${kind} "${id}" is not configured: add it under ${kind}s: (\`${id}:\` with no settings takes the defaults)`);
      });
      if (new Set(ids).size !== ids.length) throw new ConfigError(`${where}.${kind}s lists a component twice`);
    }
    if (pipeline.receivers.length === 0) throw new ConfigError(`${where}: a pipeline needs at least one receiver`);
    if (pipeline.receivers.includes('otlp') && pipeline.processors[0] !== 'attributes') throw new ConfigError(`${where}.processors: a pipeline with the otlp receiver starts with the attributes processor (it stamps tenant_id and env, and an API key's tenant)`);
    if (pipeline.processors.includes('redaction') && !pipeline.receivers.includes('otlp')) throw new ConfigError(`${where}: the redaction processor runs where data is received (a pipeline with the otlp receiver), so raw content never reaches Kafka`);
    if (pipeline.exporters.length === 0) throw new ConfigError(`${where}: a pipeline needs at least one exporter`);
    out[name] = pipeline;
  }
  return out;
}
