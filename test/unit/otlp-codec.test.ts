// The OTLP codecs against the reference encoder (@opentelemetry/otlp-transformer) and the SDK's
// own spans: every id, timestamp, status and attribute must come through exactly.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTracesJson } from '../../services/otlp/json.js';
import { type DecodedTraces, type Span, OtlpDecodeError } from '../../services/otlp/model.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { anyValueToString } from '../../services/otlp/attributes.js';
import { Normalizer } from '../../services/processors/genai/rows.js';
import { emitAgentRun, expectedAttributeText, hrTimeToNanos } from '../harness/agent-traces.js';

function sdkSpans(runs = 3): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'codec-agent', 'tenant.id': 'acme', 'deployment.environment': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('codec-test', '2.1.0');
  for (let i = 0; i < runs; i++) emitAgentRun(tracer, i);
  return memory.getFinishedSpans();
}

function spansOf(decoded: DecodedTraces): Span[] {
  return decoded.data.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

function assertMatchesSdk(decoded: DecodedTraces, expected: ReadableSpan[]): void {
  assert.equal(decoded.spanCount, expected.length);
  assert.equal(decoded.rejectedSpans, 0);
  const byId = new Map(spansOf(decoded).map((s) => [s.spanId, s]));
  for (const want of expected) {
    const got = byId.get(want.spanContext().spanId);
    assert.ok(got, `span ${want.spanContext().spanId} missing`);
    assert.equal(got.traceId, want.spanContext().traceId);
    assert.equal(got.parentSpanId, want.parentSpanContext?.spanId ?? '');
    assert.equal(got.name, want.name);
    assert.equal(got.kind, want.kind + 1, 'OTLP kind = API kind + 1');
    assert.equal(got.startTimeUnixNano.toString(), hrTimeToNanos(want.startTime));
    assert.equal(got.endTimeUnixNano.toString(), hrTimeToNanos(want.endTime));
    assert.equal(got.status.code, want.status.code);
    assert.equal(got.status.message, want.status.message ?? '');
    assert.equal(got.events.length, want.events.length);
    const attrs = Object.fromEntries(got.attributes.map((kv) => [kv.key, anyValueToString(kv.value)]));
    assert.deepEqual(attrs, Object.fromEntries(Object.entries(want.attributes).map(([k, v]) => [k, expectedAttributeText(v)])));
  }
  const resource = decoded.data.resourceSpans[0]!.resource.attributes.find((kv) => kv.key === 'tenant.id');
  assert.deepEqual(resource?.value, { stringValue: 'acme' });
  assert.equal(decoded.data.resourceSpans[0]!.scopeSpans[0]!.scope.version, '2.1.0');
}

describe('OTLP protobuf decoder', () => {
  it('decodes what the reference serializer encodes, exactly', () => {
    const spans = sdkSpans();
    const body = ProtobufTraceSerializer.serializeRequest(spans)!;
    assertMatchesSdk(decodeTracesProtobuf(body), spans);
  });

  it('round-trips through the encoder byte-for-byte stable and value-exact', () => {
    const spans = sdkSpans();
    const first = decodeTracesProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!);
    const reencoded = encodeTracesProtobuf(first.data);
    const second = decodeTracesProtobuf(reencoded);
    assert.deepEqual(second.data, first.data);
    assert.deepEqual(encodeTracesProtobuf(second.data), reencoded);
  });

  it('keeps default-valued AnyValues typed (empty string, false, 0) and 64-bit ints exact', () => {
    const data = decodeTracesJson(
      JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 's', startTimeUnixNano: '1', endTimeUnixNano: '2',
          attributes: [
            { key: 'empty', value: { stringValue: '' } },
            { key: 'no', value: { boolValue: false } },
            { key: 'zero', value: { intValue: 0 } },
            { key: 'big', value: { intValue: '9223372036854775807' } },
            { key: 'neg', value: { intValue: '-5' } },
            { key: 'bytes', value: { bytesValue: 'AAEC' } },
            { key: 'nested', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { doubleValue: 1.5 }] } } }] } } },
          ] }] }] }],
      }),
    ).data;
    const back = decodeTracesProtobuf(encodeTracesProtobuf(data));
    const attrs = Object.fromEntries(spansOf(back)[0]!.attributes.map((kv) => [kv.key, kv.value]));
    assert.deepEqual(attrs.empty, { stringValue: '' });
    assert.deepEqual(attrs.no, { boolValue: false });
    assert.deepEqual(attrs.zero, { intValue: 0 });
    assert.deepEqual(attrs.big, { intValue: 9223372036854775807n });
    assert.deepEqual(attrs.neg, { intValue: -5n });
    assert.equal(anyValueToString(attrs.bytes!), 'AAEC');
    assert.equal(anyValueToString(attrs.nested!), '{"a":[1,1.5]}');
  });

  it('rejects truncated and garbage input with OtlpDecodeError', () => {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans(1))!;
    assert.throws(() => decodeTracesProtobuf(body.subarray(0, body.length - 7)), OtlpDecodeError);
    assert.throws(() => decodeTracesProtobuf(Buffer.from('this is not protobuf at all, just text')), OtlpDecodeError);
    assert.throws(() => decodeTracesProtobuf(gzipSync(body)), OtlpDecodeError);
  });

  it('treats an empty body as an empty request', () => {
    const decoded = decodeTracesProtobuf(new Uint8Array(0));
    assert.equal(decoded.spanCount, 0);
    assert.equal(decoded.rejectedSpans, 0);
  });
});

describe('OTLP JSON decoder', () => {
  it('decodes what the reference JSON serializer encodes, exactly', () => {
    const spans = sdkSpans();
    const body = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8');
    assertMatchesSdk(decodeTracesJson(body), spans);
  });

  it('accepts upper-case hex ids, int64 as string or number, enum names and snake_case keys', () => {
    const decoded = decodeTracesJson(`{"resource_spans":[{"scope_spans":[{"spans":[{
      "trace_id":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"x","kind":"SPAN_KIND_CLIENT",
      "startTimeUnixNano":1795373872020456789,"endTimeUnixNano":"1795373873020456789","status":{"code":"STATUS_CODE_ERROR"}}]}]}]}`);
    const span = spansOf(decoded)[0]!;
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.kind, 3);
    assert.equal(span.status.code, 2);
    assert.equal(span.startTimeUnixNano, 1795373872020456789n, 'a bare JSON number above 2^53 must stay exact');
    assert.equal(span.endTimeUnixNano, 1795373873020456789n);
  });

  it('rejects only the spans with malformed ids (partial success)', () => {
    const good = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'ok' };
    const decoded = decodeTracesJson(
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [good, { ...good, traceId: 'W3h6eGludmFsaWQ=', name: 'base64' }, { ...good, spanId: 'b7ad6b71', name: 'short' }, { ...good, traceId: '00000000000000000000000000000000', name: 'zero' }] }] }] }),
    );
    assert.equal(decoded.spanCount, 1);
    assert.equal(decoded.rejectedSpans, 3);
    assert.match(decoded.rejectionReason, /3 span\(s\) rejected/);
    assert.equal(spansOf(decoded)[0]!.name, 'ok');
  });

  it('rejects malformed JSON and wrong types with OtlpDecodeError', () => {
    for (const bad of ['{"resourceSpans":[', '[]', '"x"', '{"resourceSpans":{}}', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-1"}]}]}]}', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"intValue":"1e3"}}]}]}]}]}']) {
      assert.throws(() => decodeTracesJson(bad), OtlpDecodeError, bad);
    }
  });

  it('caps AnyValue nesting depth instead of recursing without bound', () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 100; i++) value = { arrayValue: { values: [value] } };
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', attributes: [{ key: 'deep', value }] }] }] }] });
    assert.throws(() => decodeTracesJson(body), /nested deeper/);
  });
});

function normalizer(tenancy: { tenant: string; env: string }): Normalizer {
  return new Normalizer({ tenancy, contentMaxBytes: 16384, noContentTenants: [], prices: [] });
}

describe('span rows', () => {
  it('maps tenant and env from resource conventions, falling back to defaults', () => {
    const spans = sdkSpans(1);
    const rows = normalizer({ tenant: 'default', env: 'unknown' }).normalize(decodeTracesProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!).data).spans;
    assert.equal(rows.length, spans.length);
    for (const row of rows) {
      assert.equal(row.tenant_id, 'acme');
      assert.equal(row.env, 'prod');
      assert.equal(row.service_name, 'codec-agent');
    }
    const bare = normalizer({ tenant: 't0', env: 'e0' }).normalize(decodeTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","startTimeUnixNano":"1000000","endTimeUnixNano":"3500000"}]}]}]}').data).spans;
    assert.deepEqual([bare[0]!.tenant_id, bare[0]!.env, bare[0]!.service_name, bare[0]!.duration_ms], ['t0', 'e0', 'unknown_service', 2.5]);
  });
});
