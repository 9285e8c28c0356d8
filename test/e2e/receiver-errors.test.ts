// Bad input gets the right OTLP/HTTP answer and writes nothing: malformed protobuf/JSON -> 400,
// oversized or gzip bomb -> 413, unsupported media -> 415, malformed ids -> partial success.
// "Nothing written" is checked at both ends: no new Kafka message and no row in ClickHouse.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtoReader } from '../../services/otlp/wire.js';
import { emitAgentRun } from '../harness/agent-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const MAX_BODY = 64 * 1024;

function validProtobuf(tenant: string, runs = 1): Uint8Array {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', 'tenant.id': tenant }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  for (let i = 0; i < runs; i++) emitAgentRun(provider.getTracer('t'), i);
  return ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!;
}

/** google.rpc.Status fields 1 (code) and 2 (message) from a protobuf error body. */
function readRpcStatus(body: Uint8Array): { code: number; message: string } {
  const r = new ProtoReader(body);
  const status = { code: 0, message: '' };
  while (r.next(r.length)) {
    if (r.field === 1) status.code = r.uint();
    else if (r.field === 2) status.message = r.string();
    else r.skip();
  }
  return status;
}

describe('receiver error handling', () => {
  let pipeline: TestPipeline;
  let kafka: Kafka;

  async function topicEnd(): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(pipeline.config.exporters.kafka.topic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }

  async function post(body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body, headers });
  }

  async function assertNothingWritten(tenant: string, endBefore: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await topicEnd(), endBefore, 'no message reached Kafka');
    const rows = await pipeline.query<{ n: string }>('SELECT count() AS n FROM telemetry.spans_raw WHERE tenant_id = {tenant:String}', { tenant });
    assert.equal(Number(rows[0]!.n), 0, 'no row reached ClickHouse');
  }

  before(async () => {
    pipeline = await startTestPipeline('all', testConfig({ receivers: { otlp: { protocols: { http: { max_request_body_size: MAX_BODY } } } } }));
    kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'errors-test', logLevel: 0 });
  });
  after(async () => pipeline?.stop());

  it('answers malformed protobuf with 400 and a google.rpc.Status body, writing nothing', async () => {
    const end = await topicEnd();
    const valid = validProtobuf('bad-proto');
    const res = await post(valid.subarray(0, valid.length - 9), { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const status = readRpcStatus(new Uint8Array(await res.arrayBuffer()));
    assert.equal(status.code, 3, 'INVALID_ARGUMENT');
    assert.match(status.message, /cannot decode OTLP protobuf: truncated/);
    await assertNothingWritten('bad-proto', end);
  });

  it('answers malformed JSON with 400 and a JSON Status body, writing nothing', async () => {
    const end = await topicEnd();
    const res = await post('{"resourceSpans":[{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"bad-json"}}]},"scopeSpans":[', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 3);
    assert.match(body.message, /invalid JSON/);
    await assertNothingWritten('bad-json', end);
  });

  it('answers corrupt gzip with 400', async () => {
    const res = await post(Buffer.from('not gzip'), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res.status, 400);
  });

  it('answers a body over the cap with 413, as sent and after decompression (gzip bomb)', async () => {
    const end = await topicEnd();
    const big = validProtobuf('too-big', 60);
    assert.ok(big.length > MAX_BODY);
    const plain = await post(big, { 'content-type': 'application/x-protobuf' });
    assert.equal(plain.status, 413);
    assert.equal(readRpcStatus(new Uint8Array(await plain.arrayBuffer())).code, 8, 'RESOURCE_EXHAUSTED');
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    assert.ok(bomb.length < MAX_BODY, 'the bomb itself is small');
    const res = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.match(readRpcStatus(new Uint8Array(await res.arrayBuffer())).message, /decompressed body exceeds 65536 bytes/);
    await assertNothingWritten('too-big', end);
  });

  it('answers unsupported media with 415 and other paths or methods with 404/405', async () => {
    assert.equal((await post('x', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post(validProtobuf('enc'), { 'content-type': 'application/x-protobuf', 'content-encoding': 'br' })).status, 415);
    assert.equal((await fetch(`${pipeline.url}/v1/metrics`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 404);
    assert.equal((await fetch(`${pipeline.url}/v1/traces`, { headers: { 'content-type': 'application/json' } })).status, 405);
  });

  it('accepts an empty request with 200', async () => {
    const res = await post('{}', { 'content-type': 'application/json' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
  });

  it('rejects only spans with malformed ids (partial success) and stores the rest', async () => {
    const good = { traceId: '7d3f0a5b9c1e4f2a8b6c0d1e2f3a4b5c', spanId: '1a2b3c4d5e6f7a8b', name: 'good', startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now() + 5) * 1_000_000n) };
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'tenant.id', value: { stringValue: 'partial' } }] },
          scopeSpans: [{ spans: [good, { ...good, spanId: 'abc', name: 'short-id' }, { ...good, traceId: 'fQ+Q/Q==', name: 'base64-id' }] }],
        },
      ],
    };
    const res = await post(JSON.stringify(body), { 'content-type': 'application/json' });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '2');
    assert.match(answer.partialSuccess.errorMessage, /2 span\(s\) rejected/);
    await waitFor(async () => (await pipeline.query('SELECT 1 FROM telemetry.spans_raw WHERE tenant_id = {t:String}', { t: 'partial' })).length > 0, 20_000, 'the valid span');
    const rows = await pipeline.query<{ operation: string }>('SELECT operation FROM telemetry.spans_raw WHERE tenant_id = {t:String}', { t: 'partial' });
    assert.deepEqual(rows.map((r) => r.operation), ['good']);
  });

  it('counts accepted and refused requests in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
    assert.match(text, /tracehouse_receiver_requests_total\{code="400"\} [3-9]/);
    assert.match(text, /tracehouse_receiver_requests_total\{code="413"\} 2/);
    assert.match(text, /tracehouse_receiver_accepted_spans_total 1\n/);
    assert.equal((await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/readyz`)).status, 200);
  });
});

describe('receiver backpressure', () => {
  let pipeline: TestPipeline;
  const body = validProtobuf('pressure', 40);
  before(async () => {
    // Budget for one and a half requests in flight: concurrent ones beyond it must be refused, not queued.
    pipeline = await startTestPipeline('receiver', testConfig({ receivers: { otlp: { protocols: { http: { max_inflight_bytes: Math.floor(body.length * 1.5) } } } } }));
  });
  after(async () => pipeline?.stop());

  it('answers 503 + Retry-After past the in-flight byte budget, and accepts again once it drains', async () => {
    const post = (): Promise<Response> => fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
    const answers = await Promise.all(Array.from({ length: 12 }, post));
    const statuses = answers.map((r) => r.status);
    assert.ok(statuses.includes(200), `some accepted: ${statuses}`);
    assert.ok(statuses.includes(503), `some refused: ${statuses}`);
    for (const r of answers) if (r.status === 503) assert.equal(r.headers.get('retry-after'), '1');
    assert.equal((await post()).status, 200, 'accepted again once the budget drained');
  });
});
