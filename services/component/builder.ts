// Assembles service.pipelines from the registered factories, as the Collector's service graph does:
// a pipeline's signal is its name's (`traces`, `logs/store`, ...); its data kinds must line up
// (receiver -> processors in order -> exporters); one instance of a receiver or exporter serves
// every pipeline that lists it, of any signal (a fan-out joins those of one signal); processors
// belong to their pipeline. Started exporters first, then processors, then receivers,
// so nothing is received before it can be delivered; shut down in the reverse order.
import { ConfigError } from '../shared/config-error.js';
import { isPermanent } from '../shared/errors.js';
import type { Signal } from '../otlp/model.js';
import type { AnyConsumer, Component, ComponentKind, ComponentType, CreateSettings, DataKind, Factory, LogsConsumer, ProcessorFactory, ReceiverFactory, RowsConsumer, SignalConsumers, TracesConsumer } from './component.js';

export const SIGNALS: readonly Signal[] = ['traces', 'logs'];

/** The signal of a service.pipelines entry, from its name: `traces`, `traces/NAME`, `logs`, `logs/NAME`. */
export function signalOf(pipelineName: string): Signal | undefined {
  const type = pipelineName.split('/')[0];
  return SIGNALS.find((s) => s === type);
}

export class FactoryRegistry {
  private readonly factories = new Map<string, Factory>();

  constructor(factories: readonly Factory[]) {
    for (const f of factories) {
      const key = `${f.kind}:${f.type}`;
      if (this.factories.has(key)) throw new Error(`two ${f.kind} factories of type ${f.type}`);
      this.factories.set(key, f);
    }
  }

  get<K extends ComponentKind>(kind: K, type: string, where: string): Extract<Factory, { kind: K }> {
    const f = this.factories.get(`${kind}:${type}`);
    if (f === undefined) throw new ConfigError(`${where}: unknown ${kind} "${type}" (known: ${this.types(kind).join(', ')})`);
    return f as Extract<Factory, { kind: K }>;
  }

  types(kind: ComponentKind): string[] {
    return [...this.factories.values()].filter((f) => f.kind === kind).map((f) => f.type);
  }
}

/** One consumer from several: each gets the data; the call resolves when all have it. */
export function fanOut(consumers: AnyConsumer[], kind: DataKind): AnyConsumer {
  if (consumers.length === 1) return consumers[0]!;
  const all = async (call: (c: AnyConsumer) => Promise<void>): Promise<void> => {
    const results = await Promise.allSettled(consumers.map(call));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A retryable failure wins: the client's retry may then reach the branch that failed for now.
    if (failed.length > 0) throw (failed.find((f) => !isPermanent(f.reason)) ?? failed[0]!).reason;
  };
  if (kind === 'rows') return { consumeRows: (rows) => all((c) => (c as RowsConsumer).consumeRows(rows)) };
  if (kind === 'logs') return { consumeLogs: (data, ctx) => all((c) => (c as LogsConsumer).consumeLogs(structuredClone(data), ctx)) };
  return { consumeTraces: (data, ctx) => all((c) => (c as TracesConsumer).consumeTraces(structuredClone(data), ctx)) };
}

export interface Service {
  /** Every component, in start order. */
  readonly components: ReadonlyArray<{ id: string; kind: ComponentKind; component: Component }>;
  receiver(id: string): Component | undefined;
  start(): Promise<void>;
  shutdown(): Promise<void>;
  ready(): boolean;
}

/** One entry of service.pipelines: component ids, processors in order. */
export interface PipelineConfig {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

/** Each component's parsed settings, by section and type (the service config has this shape). */
export type ComponentSettings = Record<`${ComponentKind}s`, Record<string, unknown>>;

export interface ServiceSettings extends Omit<CreateSettings, 'id' | 'pipeline' | 'config' | 'configOf'> {
  configs: ComponentSettings;
}

export async function buildService(pipelines: Record<string, PipelineConfig>, registry: FactoryRegistry, base: ServiceSettings): Promise<Service> {
  const { configs, ...shared } = base;
  const configOf = <D>(f: ComponentType<D>): D => configs[`${f.kind}s`][f.type] as D;
  const settings = (factory: Factory, pipeline: string): CreateSettings => ({ ...shared, id: factory.type, pipeline, config: configOf(factory), configOf, log: base.log.child(factory.type) });
  const exporters = new Map<string, AnyConsumer & Component>();
  const processors: Array<{ id: string; component: Component }> = [];
  const heads = new Map<string, { consumers: Map<Signal, AnyConsumer[]>; pipeline: string }>();

  for (const [name, p] of Object.entries(pipelines)) {
    const where = `service.pipelines.${name}`;
    const signal = signalOf(name);
    if (signal === undefined) throw new ConfigError(`${where}: a pipeline is named after its signal (${SIGNALS.map((s) => `${s} or ${s}/NAME`).join(', ')})`);
    for (const [i, id] of p.receivers.entries()) {
      const f = registry.get('receiver', id, `${where}.receivers[${i}]`);
      if (!f.produces.includes(signal)) throw new ConfigError(`${where}.receivers[${i}]: ${id} receives ${f.produces.join(' and ')}, not ${signal}`);
    }
    let kind: DataKind = signal;
    const inputs: DataKind[] = [];
    const chain: ProcessorFactory[] = p.processors.map((id, i) => {
      const f = registry.get('processor', id, `${where}.processors[${i}]`);
      const produces = f.kinds[kind];
      if (produces === undefined) throw new ConfigError(`${where}.processors[${i}]: ${id} takes ${takes(f.kinds)}, but gets ${kind} there${hint(kind, Object.keys(f.kinds) as DataKind[])}`);
      inputs.push(kind);
      kind = produces;
      return f;
    });
    const outputs: AnyConsumer[] = [];
    for (const [i, id] of p.exporters.entries()) {
      const f = registry.get('exporter', id, `${where}.exporters[${i}]`);
      if (!f.consumes.includes(kind)) throw new ConfigError(`${where}.exporters[${i}]: ${id} takes ${f.consumes.join(' or ')}, but the pipeline hands it ${kind}${hint(kind, f.consumes)}`);
      let built = exporters.get(id);
      if (built === undefined) {
        built = await f.create(settings(f, where));
        exporters.set(id, built);
      }
      outputs.push(built);
    }
    let next = fanOut(outputs, kind);
    for (let i = chain.length - 1; i >= 0; i--) {
      const processor = await chain[i]!.create(settings(chain[i]!, where), next, inputs[i]!);
      processors.push({ id: p.processors[i]!, component: processor });
      next = processor;
    }
    for (const id of p.receivers) {
      const head = heads.get(id) ?? { consumers: new Map<Signal, AnyConsumer[]>(), pipeline: '' };
      head.consumers.set(signal, [...(head.consumers.get(signal) ?? []), next]);
      head.pipeline = head.pipeline === '' ? where : `${head.pipeline}, ${where}`;
      heads.set(id, head);
    }
  }

  const receivers = new Map<string, Component>();
  for (const [id, head] of heads) {
    const factory: ReceiverFactory = registry.get('receiver', id, head.pipeline);
    const traces = head.consumers.get('traces');
    const logs = head.consumers.get('logs');
    const next: SignalConsumers = {
      ...(traces && { traces: fanOut(traces, 'traces') as TracesConsumer }),
      ...(logs && { logs: fanOut(logs, 'logs') as LogsConsumer }),
    };
    receivers.set(id, await factory.create(settings(factory, head.pipeline), next));
  }

  const components = [
    ...[...exporters].map(([id, component]) => ({ id, kind: 'exporter' as const, component })),
    ...processors.map((p) => ({ id: p.id, kind: 'processor' as const, component: p.component })),
    ...[...receivers].map(([id, component]) => ({ id, kind: 'receiver' as const, component })),
  ];
  const started: Component[] = [];
  const shutdown = async (): Promise<void> => {
    for (const c of started.splice(0).reverse()) await c.shutdown();
  };
  return {
    components,
    receiver: (id) => receivers.get(id),
    start: async () => {
      try {
        for (const { component } of components) {
          await component.start();
          started.push(component);
        }
      } catch (err) {
        await shutdown().catch(() => undefined);
        throw err;
      }
    },
    shutdown,
    ready: () => components.every(({ component }) => component.ready()),
  };
}

function takes(kinds: Partial<Record<DataKind, DataKind>>): string {
  return Object.keys(kinds).join(' or ');
}

function hint(have: DataKind, want: readonly DataKind[]): string {
  if (have !== 'rows' && want.includes('rows')) return ': put the genai processor (and batch) before it';
  if (have === 'rows' && !want.includes('rows')) return ': after genai the data is rows, which only the clickhouse exporter takes';
  return '';
}
