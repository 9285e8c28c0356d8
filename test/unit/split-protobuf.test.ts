// The receiver's protobuf fast path must give exactly what the decoding path gives (decode, limits,
// tenancy, split per trace, encode), or step aside (null) so the decoding path answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { stampTenancy } from '../../services/processors/attributes.js';
import { enforceLimits } from '../../services/receivers/otlp/limits.js';
import { splitByTrace } from '../../services/otlp/split.js';
import { type SplitOptions, splitProtobufByTrace } from '../../services/receivers/otlp/split-protobuf.js';
import { resolveConfig } from '../../services/config.js';
import { decodeTracesJson } from '../../services/otlp/json.js';
import { type AnyValue, type TracesData, OtlpDecodeError } from '../../services/otlp/model.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { emitAgentRun } from '../harness/agent-traces.js';
import { seededRandom } from '../../services/shared/random.js';

const config = resolveConfig({}, {});
const NOW_MS = Date.now();
const options = (over: Partial<SplitOptions> = {}): SplitOptions => ({
  limits: config.receivers.otlp.limits,
  retentionDays: config.exporters.clickhouse.ttlDays,
  tenancy: { tenant: 'default', env: 'unknown' },
  tenant: undefined,
  maxMessageBytes: 1_000_000,
  nowMs: NOW_MS,
  ...over,
});

/** The decoding path's result per trace, or why it would not be the same request: rejected spans or a 400. */
function reference(body: Uint8Array, opts: SplitOptions): Map<string, TracesData> | 'rejects spans' | 'undecodable' {
  let decoded;
  try {
    decoded = enforceLimits(decodeTracesProtobuf(body), opts.limits, opts.retentionDays, opts.nowMs);
  } catch (err) {
    if (err instanceof OtlpDecodeError) return 'undecodable';
    throw err;
  }
  if (decoded.rejectedSpans > 0) return 'rejects spans';
  stampTenancy(decoded.data, opts.tenancy, opts.tenant);
  const out = new Map<string, TracesData>();
  // Through the encoder and back, so both sides compare as the consumer will see them.
  for (const [id, trace] of splitByTrace(decoded.data)) out.set(id, decodeTracesProtobuf(encodeTracesProtobuf(trace)).data);
  return out;
}

function fast(body: Uint8Array, opts: SplitOptions): Map<string, TracesData> | null {
  const traces = splitProtobufByTrace(body, opts);
  if (traces === null) return null;
  const out = new Map<string, TracesData>();
  for (const t of traces) {
    const decoded = decodeTracesProtobuf(t.bytes);
    assert.equal(decoded.spanCount, t.spans);
    out.set(t.traceId, decoded.data);
  }
  return out;
}

const T1 = '11111111111111111111111111111111';
const T2 = '22222222222222222222222222222222';
const span = (traceId: string, n: number, extra: object = {}) => ({ traceId, spanId: `${n}`.padStart(16, 'a'), name: `s${n}`, startTimeUnixNano: String(BigInt(NOW_MS) * 1_000_000n), ...extra });

/** Two resources, interleaved traces across scopes, as a protobuf body. */
function interleaved(spanExtra: object = {}, edit: (data: TracesData) => void = () => undefined): Uint8Array {
  const data = decodeTracesJson(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'a' } }, { key: 'tenant.id', value: { stringValue: 'acme' } }] },
          schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
          scopeSpans: [
            { scope: { name: 'x', version: '1', attributes: [{ key: 'k', value: { intValue: 3 } }] }, spans: [span(T1, 1, spanExtra), span(T2, 2), span(T1, 3)] },
            { scope: { name: 'y' }, schemaUrl: 'scope-schema', spans: [span(T2, 4)] },
          ],
        },
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'b' } }, { key: 'deployment.environment', value: { stringValue: 'prod' } }] }, scopeSpans: [{ scope: { name: 'z' }, spans: [span(T1, 5)] }] },
      ],
    }),
  ).data;
  edit(data);
  return encodeTracesProtobuf(data);
}

function sdkRequest(): Uint8Array {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'split', 'tenant.id': 't' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  for (let i = 0; i < 4; i++) emitAgentRun(provider.getTracer('split'), i);
  return ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!;
}


describe('receiver protobuf fast path', () => {
  it('gives per trace exactly what the decoding path gives: interleaved resources and scopes', () => {
    const body = interleaved();
    const expected = reference(body, options());
    assert.ok(expected instanceof Map && expected.size === 2);
    assert.deepEqual(fast(body, options()), expected);
  });

  it('gives exactly what the decoding path gives for SDK agent runs, and stamps the API key tenant over the resource', () => {
    const body = sdkRequest();
    for (const opts of [options(), options({ tenant: 'key-tenant' })]) {
      const expected = reference(body, opts);
      assert.ok(expected instanceof Map && expected.size === 4);
      const got = fast(body, opts)!;
      assert.deepEqual(got, expected);
      if (opts.tenant) for (const t of got.values()) for (const rs of t.resourceSpans) assert.deepEqual(rs.resource.attributes.find((kv) => kv.key === 'tenant_id')?.value, { stringValue: 'key-tenant' });
    }
  });

  it('steps aside for what the decoding path changes or rejects', () => {
    const limits = config.receivers.otlp.limits;
    const attrs = (n: number, value = 'v') => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { stringValue: value } }));
    const cases: Array<[string, Uint8Array, SplitOptions?]> = [
      ['too many attributes', interleaved({ attributes: attrs(limits.maxAttributesPerSpan + 1) })],
      ['a value over the size limit', interleaved({ attributes: [{ key: 'big', value: { stringValue: 'x'.repeat(limits.maxAttributeValueBytes + 1) } }] })],
      ['too many events', interleaved({ events: Array.from({ length: limits.maxEventsPerSpan + 1 }, (_, i) => ({ name: `e${i}`, timeUnixNano: '1' })) })],
      ['an event with too many attributes', interleaved({ events: [{ name: 'e', attributes: attrs(limits.maxAttributesPerSpan + 1) }] })],
      ['a span starting in the future', interleaved({ startTimeUnixNano: String(BigInt(NOW_MS + 2 * 86_400_000) * 1_000_000n) })],
      ['a span before the retention window', interleaved({ startTimeUnixNano: '1000' })],
      // Set after decoding: the JSON decoder already drops such spans.
      ['a short span id', interleaved({}, (data) => (data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.spanId = 'abcd'))],
      ['a zero trace id', interleaved({}, (data) => (data.resourceSpans[1]!.scopeSpans[0]!.spans[0]!.traceId = '0'.repeat(32)))],
      ['AnyValue nested too deep', interleaved({}, (data) => {
        let value: AnyValue = { stringValue: 'x' };
        for (let i = 0; i < 40; i++) value = { arrayValue: [value] };
        data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.push({ key: 'deep', value });
      })],
      ['a trace over the message size', interleaved(), options({ maxMessageBytes: 100 })],
      ['a truncated body', interleaved().subarray(0, 50)],
    ];
    for (const [what, body, opts] of cases) assert.equal(splitProtobufByTrace(body, opts ?? options()), null, what);
    // The same request within the limits takes the fast path.
    assert.notEqual(splitProtobufByTrace(interleaved({ attributes: attrs(limits.maxAttributesPerSpan) }), options()), null);
  });

  it('3000 mutated bodies: the fast path either steps aside or matches the decoding path', () => {
    const random = seededRandom(4242);
    const seeds = [sdkRequest(), interleaved()];
    const counts = { matched: 0, stepped_aside: 0 };
    for (let i = 0; i < 3000; i++) {
      const out = Buffer.from(seeds[i % 2]!);
      for (let j = 0; j < 1 + random() * 6; j++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      const got = fast(out, options());
      if (got === null) {
        counts.stepped_aside++;
        continue;
      }
      assert.deepEqual(got, reference(out, options()), `mutation #${i}`);
      counts.matched++;
    }
    assert.ok(counts.matched > 100 && counts.stepped_aside > 100, JSON.stringify(counts));
  });
});
