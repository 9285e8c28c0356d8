// The pipeline builder with small test components (their own factories, recording what they see):
// processor order, fan-out to several exporters, one receiver or exporter shared by two pipelines,
// start and shutdown order, data kinds that do not line up, and a start that fails half way.
import assert from 'node:assert/strict';
import { unusedResources } from '../harness/resources.js';
import { describe, it } from 'node:test';
import { FactoryRegistry, buildService } from '../../services/component/builder.js';
import { type Component, type ExporterFactory, type ProcessorFactory, type ReceiverFactory, type RowsConsumer, STATELESS, type TracesConsumer } from '../../services/component/component.js';
import { PermanentError, RetryableError } from '../../services/shared/errors.js';
import { pipelinesFor } from '../../services/app.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import type { TracesData } from '../../services/otlp/model.js';

const silent = createLogger('test', 100);
const NO_SETTINGS = { receivers: {}, processors: {}, exporters: {} };

function harness() {
  const events: string[] = [];
  const received: Record<string, string[]> = {};
  const senders: Record<string, TracesConsumer> = {};
  const lifecycle = (id: string, fail = false): Component => ({
    start: async () => {
      if (fail) throw new Error(`${id} cannot start`);
      events.push(`start ${id}`);
    },
    shutdown: async () => void events.push(`stop ${id}`),
    ready: () => true,
  });
  const tag = (data: TracesData): string => (data.resourceSpans[0]?.schemaUrl ?? '');
  const receiver = (type: string): ReceiverFactory => ({
    kind: 'receiver',
    type,
    produces: ['traces'],
    parseConfig: () => undefined,
    create: async (s, next) => {
      senders[s.id] = next.traces!;
      return lifecycle(s.id);
    },
  });
  const append = (type: string): ProcessorFactory => ({
    kind: 'processor',
    type,
    kinds: { traces: 'traces' },
    parseConfig: () => undefined,
    create: async (s, next) => ({
      ...lifecycle(`${s.id}@${s.pipeline}`),
      consumeTraces: (data, ctx) => {
        data.resourceSpans[0]!.schemaUrl += `>${type}`;
        return (next as TracesConsumer).consumeTraces(data, ctx);
      },
    }),
  });
  const toRows: ProcessorFactory = { kind: 'processor', type: 'rows', kinds: { traces: 'rows' }, parseConfig: () => undefined, create: async (s, next) => ({ ...lifecycle(s.id), consumeTraces: () => (next as RowsConsumer).consumeRows({ spans: [], events: [], logs: [] }) }) };
  const exporter = (type: string, fail = false): ExporterFactory => ({
    kind: 'exporter',
    type,
    consumes: ['traces'],
    parseConfig: () => undefined,
    create: async (s) => ({
      ...lifecycle(s.id, fail),
      consumeTraces: async (data) => void (received[s.id] ??= []).push(tag(data)),
    }),
  });
  const registry = new FactoryRegistry([receiver('in'), receiver('in2'), append('a'), append('b'), toRows, exporter('out'), exporter('out2'), exporter('broken', true)]);
  const build = (pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>) =>
    buildService(pipelines, registry, { configs: NO_SETTINGS, registry: new Registry(), log: silent, reportFatal: () => assert.fail('no component fails here'), resources: unusedResources });
  const send = (receiver: string) => senders[receiver]!.consumeTraces({ resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [], schemaUrl: 'req' }] }, { tenant: undefined });
  return { events, received, build, send };
}

describe('pipeline builder', () => {
  it('runs processors in their order and fans out to every exporter', async () => {
    const h = harness();
    const service = await h.build({ traces: { receivers: ['in'], processors: ['b', 'a'], exporters: ['out', 'out2'] } });
    await service.start();
    await h.send('in');
    assert.deepEqual(h.received, { out: ['req>b>a'], out2: ['req>b>a'] });
  });

  it('one receiver and one exporter serve two pipelines; each pipeline processes its own copy', async () => {
    const h = harness();
    const service = await h.build({
      'traces/one': { receivers: ['in'], processors: ['a'], exporters: ['out'] },
      'traces/two': { receivers: ['in', 'in2'], processors: ['b'], exporters: ['out'] },
    });
    assert.deepEqual(service.components.map((c) => `${c.kind} ${c.id}`), ['exporter out', 'processor a', 'processor b', 'receiver in', 'receiver in2']);
    await service.start();
    await h.send('in');
    assert.deepEqual(h.received.out!.sort(), ['req>a', 'req>b']);
    await h.send('in2');
    assert.deepEqual(h.received.out!.length, 3);
  });

  it('starts exporters, then processors, then receivers, and shuts down in reverse', async () => {
    const h = harness();
    const service = await h.build({ traces: { receivers: ['in'], processors: ['a', 'b'], exporters: ['out'] } });
    await service.start();
    await service.shutdown();
    assert.deepEqual(h.events, ['start out', 'start b@service.pipelines.traces', 'start a@service.pipelines.traces', 'start in', 'stop in', 'stop a@service.pipelines.traces', 'stop b@service.pipelines.traces', 'stop out']);
  });

  it('a fan-out that fails in one branch for good and in another for now answers retryable', async () => {
    const registry = new FactoryRegistry([
      { kind: 'receiver', type: 'in', produces: ['traces'], parseConfig: () => undefined, create: async (_s, next) => ({ ...STATELESS, start: async () => void (sender = next.traces) }) },
      { kind: 'exporter', type: 'refuses', consumes: ['traces'], parseConfig: () => undefined, create: async () => ({ ...STATELESS, consumeTraces: () => Promise.reject(new PermanentError('bad data')) }) },
      { kind: 'exporter', type: 'down', consumes: ['traces'], parseConfig: () => undefined, create: async () => ({ ...STATELESS, consumeTraces: () => Promise.reject(new RetryableError('down')) }) },
    ]);
    let sender: TracesConsumer | undefined;
    const service = await buildService({ traces: { receivers: ['in'], processors: [], exporters: ['refuses', 'down'] } }, registry, { configs: NO_SETTINGS, registry: new Registry(), log: silent, reportFatal: () => assert.fail('no component fails here'), resources: unusedResources });
    await service.start();
    await assert.rejects(sender!.consumeTraces({ resourceSpans: [] }, { tenant: undefined }), (err: unknown) => err instanceof RetryableError);
  });

  it("hands each component its own parsed settings, and another one's on request", async () => {
    const seen: unknown[] = [];
    const source: ReceiverFactory<{ port: number }> = {
      kind: 'receiver',
      type: 'in',
      produces: ['traces'],
      parseConfig: (section) => ({ port: section.int('port', 1) }),
      create: async (s) => {
        seen.push(s.config.port, s.configOf(sink).path);
        return STATELESS;
      },
    };
    const sink: ExporterFactory<{ path: string }> = {
      kind: 'exporter',
      type: 'out',
      consumes: ['traces'],
      parseConfig: (section) => ({ path: section.str('path', '/dev/null') }),
      create: async () => ({ ...STATELESS, consumeTraces: async () => undefined }),
    };
    const registry = new FactoryRegistry([source, sink]);
    const configs = resolveConfig({ receivers: { in: { port: 7 } }, exporters: { out: { path: '/tmp/x' } }, service: { pipelines: { traces: { receivers: ['in'], exporters: ['out'] } } } }, {}, registry);
    await buildService(configs.pipelines, registry, { configs, registry: new Registry(), log: silent, reportFatal: () => assert.fail('no component fails here'), resources: unusedResources });
    assert.deepEqual(seen, [7, '/tmp/x']);
    assert.throws(() => resolveConfig({ receivers: { in: { port: 'x' } }, exporters: { out: null }, service: { pipelines: { traces: { receivers: ['in'], exporters: ['out'] } } } }, {}, registry), /^ConfigError: receivers\.in\.port must be a non-negative integer, got "x"$/);
  });

  it('a component that cannot start stops those already started, and the error goes on', async () => {
    const h = harness();
    const service = await h.build({ traces: { receivers: ['in'], processors: ['a'], exporters: ['out', 'broken'] } });
    await assert.rejects(service.start(), /broken cannot start/);
    assert.deepEqual(h.events, ['start out', 'stop out']);
  });

  it('refuses data kinds that do not line up, naming the YAML path', async () => {
    const h = harness();
    await assert.rejects(h.build({ traces: { receivers: ['in'], processors: ['rows', 'a'], exporters: ['out'] } }), /service\.pipelines\.traces\.processors\[1\]: a takes traces, but gets rows there: after genai the data is rows/);
    await assert.rejects(h.build({ traces: { receivers: ['in'], processors: ['rows'], exporters: ['out'] } }), /service\.pipelines\.traces\.exporters\[0\]: out takes traces, but the pipeline hands it rows/);
    await assert.rejects(h.build({ traces: { receivers: ['in'], processors: [], exporters: ['nope'] } }), /service\.pipelines\.traces\.exporters\[0\]: unknown exporter "nope" \(known: out, out2, broken\)/);
  });
});

describe('the pipelines each mode runs', () => {
  const config = (brokers: string) => resolveConfig({}, brokers ? { KAFKA_BROKERS: brokers } : {});
  it('receiver and consumer take the pipelines with their receiver; start with brokers takes all', () => {
    assert.deepEqual(Object.keys(pipelinesFor('receiver', config('k:9092'), silent)), ['traces/ingest', 'logs/ingest']);
    assert.deepEqual(Object.keys(pipelinesFor('consumer', config('k:9092'), silent)), ['traces/store', 'logs/store']);
    assert.deepEqual(pipelinesFor('all', config('k:9092'), silent), config('k:9092').pipelines);
  });

  it('start without brokers puts the local durable log where Kafka was, in every pipeline', () => {
    assert.deepEqual(pipelinesFor('all', config(''), silent), {
      'traces/ingest': { receivers: ['otlp'], processors: ['attributes'], exporters: ['local_log'] },
      'traces/store': { receivers: ['local_log'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
      'logs/ingest': { receivers: ['otlp'], processors: ['attributes'], exporters: ['local_log'] },
      'logs/store': { receivers: ['local_log'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
    });
  });
});
