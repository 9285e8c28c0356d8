// Every OTLP field of real SDK spans read back equal after Kafka and ClickHouse: links (ids, trace
// state, attributes, flags), trace flags, dropped attribute / event / link counts, scope name,
// version and schema URL, events with their attributes, and the type of every attribute value (int
// 3, string "3" and double 2.5 apart; arrays exact). Then the otel_traces view, checked column by
// column against the OpenTelemetry Collector clickhouseexporter's table, reads the same spans.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, type AttributeValue, type Attributes, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const hrNanos = ([s, ns]: [number, number]): string => (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();

/** The value an attribute's text and its type entry stand for, rebuilt without the code under test. */
function readBack(text: string, type: string | undefined): unknown {
  if (type === undefined) return text;
  if (type === 'int') return Number(text);
  if (type === 'double') return Number(text);
  if (type === 'bool') return text === 'true';
  const plain = (v: Record<string, unknown>): unknown => {
    if ('stringValue' in v) return v.stringValue;
    if ('intValue' in v) return Number(v.intValue);
    if ('doubleValue' in v) return v.doubleValue;
    if ('boolValue' in v) return v.boolValue;
    if ('arrayValue' in v) return ((v.arrayValue as { values: Array<Record<string, unknown>> }).values ?? []).map(plain);
    throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
  };
  return plain(JSON.parse(type) as Record<string, unknown>);
}

/** What the SDK's OTLP transformer sends for a JS value: integers as intValue, other numbers as doubleValue. */
function sentType(v: AttributeValue): string | undefined {
  if (typeof v === 'string') return undefined;
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  return 'array';
}

/** `stamped`: keys the pipeline adds (the attributes processor's tenant_id and env on resources). */
function assertAttributes(text: Record<string, string>, types: Record<string, string>, sent: Attributes, where: string, stamped: string[] = []): void {
  assert.deepEqual(Object.keys(text).sort(), [...Object.keys(sent), ...stamped].sort(), `${where}: keys`);
  for (const [key, value] of Object.entries(sent)) {
    const type = types[key];
    const want = sentType(value!);
    if (want === 'array') assert.ok(type?.startsWith('{"arrayValue"'), `${where}.${key}: array type ${type}`);
    else assert.equal(type, want, `${where}.${key}: type`);
    assert.deepEqual(readBack(text[key]!, type), value, `${where}.${key}: value`);
  }
}

describe('OTLP span fidelity through Kafka and ClickHouse', () => {
  let pipeline: TestPipeline;
  let finished: ReadableSpan[] = [];
  let db = '';

  before(async () => {
    pipeline = await startTestPipeline('all', testConfig());
    db = pipeline.config.exporters.clickhouse.database;
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'fidelity', 'tenant.id': 'fidelity', 'host.cores': 2, 'process.runtime.debug': false }),
      // Small limits so the SDK drops (and counts) attributes and events.
      spanLimits: { attributeCountLimit: 8, eventCountLimit: 2 },
      spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(new OTLPTraceExporter({ url: `${pipeline.url}/v1/traces` }), { scheduledDelayMillis: 50 })],
    });
    const tracer = provider.getTracer('fidelity-scope', '3.1.4', { schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' });
    const target = tracer.startSpan('linked-to');
    target.end();
    const root = tracer.startSpan('typed', {
      kind: SpanKind.SERVER,
      attributes: { int: 3, text: '3', double: 2.5, flag: true, ints: [1, 2, 3], doubles: [0.5, 1.5], words: ['a', 'b'], bools: [true, false] },
      links: [{ context: target.spanContext(), attributes: { 'link.kind': 'follows', 'link.weight': 7 } }],
    });
    root.addLink({ context: target.spanContext(), attributes: { second: 'link' } });
    root.setAttribute('over.limit', 'dropped');
    root.addEvent('first', { 'e.int': 42, 'e.double': 0.25, 'e.text': 'hello' });
    root.addEvent('second', { 'e.list': ['x', 'y'] });
    // Over the limit: the SDK drops the oldest event.
    root.addEvent('third');
    const child = tracer.startSpan('child', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
    child.end();
    root.end();
    await provider.forceFlush();
    finished = memory.getFinishedSpans();
    await provider.shutdown();
    const traceIds = [...new Set(finished.map((s) => s.spanContext().traceId))];
    await waitFor(async () => (await pipeline.query(`SELECT count() AS n FROM ${db}.spans_raw WHERE has({ids: Array(String)}, trace_id)`, { ids: traceIds }))[0]!.n === String(finished.length), 30_000, 'the fidelity spans');
  });
  after(async () => pipeline?.stop());

  it('reads back every OTLP field of each span equal, attribute types included', async () => {
    const rows = await pipeline.query<Record<string, any>>(
      `SELECT span_id, trace_flags, dropped_attributes_count, dropped_events_count, dropped_links_count, attributes, attribute_types,
              resource_attributes, resource_attribute_types, scope_name, scope_version, scope_schema_url, scope_attributes, trace_state,
              arrayMap(t -> toString(toUnixTimestamp64Nano(t)), events.time) AS event_times, events.name AS event_names,
              events.attributes AS event_attributes, events.attribute_types AS event_types, events.dropped_attributes_count AS event_dropped,
              links.trace_id AS link_trace_ids, links.span_id AS link_span_ids, links.trace_state AS link_states, links.attributes AS link_attributes,
              links.attribute_types AS link_types, links.flags AS link_flags
       FROM ${db}.spans_raw WHERE has({ids: Array(String)}, span_id)`,
      { ids: finished.map((s) => s.spanContext().spanId) },
    );
    assert.equal(rows.length, finished.length);
    const bySpan = new Map(rows.map((r) => [r.span_id as string, r]));
    for (const span of finished) {
      const got = bySpan.get(span.spanContext().spanId)!;
      const where = span.name;
      // OTLP flags: the W3C trace flags in the low byte, bit 8 set because the SDK states whether the parent is remote.
      assert.equal(got.trace_flags & 0xff, span.spanContext().traceFlags, `${where}: trace flags`);
      assert.equal(got.trace_flags & 0x100, 0x100, `${where}: has-is-remote bit`);
      assert.deepEqual([got.dropped_attributes_count, got.dropped_events_count, got.dropped_links_count], [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount], `${where}: dropped counts`);
      assertAttributes(got.attributes, got.attribute_types, span.attributes, `${where}.attributes`);
      assertAttributes(got.resource_attributes, got.resource_attribute_types, span.resource.attributes, `${where}.resource`, ['tenant_id', 'env']);
      assert.deepEqual([got.scope_name, got.scope_version, got.scope_schema_url], ['fidelity-scope', '3.1.4', 'https://opentelemetry.io/schemas/1.37.0']);
      assert.deepEqual(got.scope_attributes, {});
      assert.equal(got.trace_state, '');
      assert.deepEqual(got.event_names, span.events.map((e) => e.name), `${where}: event names`);
      assert.deepEqual(got.event_times, span.events.map((e) => hrNanos(e.time)), `${where}: event times`);
      span.events.forEach((e, i) => assertAttributes(got.event_attributes[i], got.event_types[i], e.attributes ?? {}, `${where}.events[${i}]`));
      assert.deepEqual(got.event_dropped, span.events.map((e) => e.droppedAttributesCount ?? 0));
      assert.deepEqual(got.link_trace_ids, span.links.map((l) => l.context.traceId), `${where}: link trace ids`);
      assert.deepEqual(got.link_span_ids, span.links.map((l) => l.context.spanId), `${where}: link span ids`);
      assert.deepEqual(got.link_states, span.links.map(() => ''));
      assert.deepEqual(got.link_flags.map((f: number) => f & 0xff), span.links.map((l) => l.context.traceFlags));
      span.links.forEach((l, i) => assertAttributes(got.link_attributes[i], got.link_types[i], l.attributes ?? {}, `${where}.links[${i}]`));
    }
    const typed = finished.find((s) => s.name === 'typed')!;
    // The JS SDK keeps every link whatever the limit; row-encoding.test.ts covers a non-zero dropped_links_count.
    assert.deepEqual([typed.droppedAttributesCount, typed.droppedEventsCount, typed.links.length], [1, 1, 2], 'the limits made the SDK drop an attribute and an event');
  });

  it('serves the spans through otel_traces with the clickhouseexporter columns and values', async () => {
    // The clickhouseexporter's traces table (exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql), column by column.
    const exporterColumns: Array<[string, string]> = [
      ['Timestamp', 'DateTime64(9)'], ['TraceId', 'String'], ['SpanId', 'String'], ['ParentSpanId', 'String'], ['TraceState', 'String'],
      ['SpanName', 'LowCardinality(String)'], ['SpanKind', 'LowCardinality(String)'], ['ServiceName', 'LowCardinality(String)'],
      ['ResourceAttributes', 'Map(LowCardinality(String), String)'], ['ScopeName', 'String'], ['ScopeVersion', 'String'],
      ['SpanAttributes', 'Map(LowCardinality(String), String)'], ['Duration', 'UInt64'], ['StatusCode', 'LowCardinality(String)'], ['StatusMessage', 'String'],
      ['Events.Timestamp', 'Array(DateTime64(9))'], ['Events.Name', 'Array(LowCardinality(String))'], ['Events.Attributes', 'Array(Map(LowCardinality(String), String))'],
      ['Links.TraceId', 'Array(String)'], ['Links.SpanId', 'Array(String)'], ['Links.TraceState', 'Array(String)'], ['Links.Attributes', 'Array(Map(LowCardinality(String), String))'],
    ];
    const described = await pipeline.query<{ name: string; type: string }>(`SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'otel_traces' ORDER BY position`, { db });
    assert.deepEqual(described.slice(0, exporterColumns.length).map((c) => [c.name, c.type]), exporterColumns);

    const typed = finished.find((s) => s.name === 'typed')!;
    const [row] = await pipeline.query<Record<string, any>>(
      `SELECT TraceId, SpanName, SpanKind, StatusCode, ServiceName, ScopeName, Duration, Events.Name AS en, Links.SpanId AS ls, SpanAttributes['int'] AS int_text
       FROM ${db}.otel_traces WHERE TraceId = {t:String} AND SpanId = {s:String}`,
      { t: typed.spanContext().traceId, s: typed.spanContext().spanId },
    );
    assert.deepEqual(row, {
      TraceId: typed.spanContext().traceId,
      SpanName: 'typed',
      SpanKind: 'SPAN_KIND_SERVER',
      StatusCode: 'STATUS_CODE_UNSET',
      ServiceName: 'fidelity',
      ScopeName: 'fidelity-scope',
      Duration: String(BigInt(hrNanos(typed.endTime)) - BigInt(hrNanos(typed.startTime))),
      en: typed.events.map((e) => e.name),
      ls: typed.links.map((l) => l.context.spanId),
      int_text: '3',
    });
  });
});
