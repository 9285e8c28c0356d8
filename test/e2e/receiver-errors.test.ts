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
    pipeline = await startTestPipeline('all', testConfig({ receivers: { otlp: { protocols: { http: { max_request_body_size: MAX_BODY } }, limits: { max_log_records_per_request: 5 } } } }));
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

  it('takes /v1/logs alike: malformed ids through partial success (rejectedLogRecords), bad JSON 400, too many records 413', async () => {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const record = (body: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ timeUnixNano: now, severityNumber: 17, severityText: 'ERROR', body: { stringValue: body }, ...extra });
    const logs = (records: Array<Record<string, unknown>>): string => JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'tenant.id', value: { stringValue: 'partial-logs' } }] }, scopeLogs: [{ logRecords: records }] }] });
    const postLogs = (body: string): Promise<Response> => fetch(`${pipeline.url}/v1/logs`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const res = await postLogs(logs([record('kept'), record('short trace id', { traceId: 'abcd' }), record('correlated', { traceId: '7d3f0a5b9c1e4f2a8b6c0d1e2f3a4b5c', spanId: '1a2b3c4d5e6f7a8b' })]));
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedLogRecords, '1');
    assert.match(answer.partialSuccess.errorMessage, /1 log record\(s\) rejected; first: log record: trace_id must be empty or 16 non-zero bytes/);
    await waitFor(async () => (await pipeline.query('SELECT 1 FROM telemetry.logs_raw WHERE tenant_id = {t:String}', { t: 'partial-logs' })).length >= 2, 20_000, 'the valid log records');
    const rows = await pipeline.query<{ body: string; trace_id: string }>('SELECT body, trace_id FROM telemetry.logs_raw WHERE tenant_id = {t:String} ORDER BY body', { t: 'partial-logs' });
    assert.deepEqual(rows, [{ body: 'correlated', trace_id: '7d3f0a5b9c1e4f2a8b6c0d1e2f3a4b5c' }, { body: 'kept', trace_id: '' }]);
    const bad = await postLogs('{"resourceLogs":[');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /cannot decode OTLP json: invalid JSON/);
    const many = await postLogs(logs(Array.from({ length: 6 }, (_, i) => record(`r${i}`))));
    assert.equal(many.status, 413);
    assert.match(((await many.json()) as { message: string }).message, /6 log records in one request; the limit is 5/);
  });

  it('counts accepted and refused requests in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
    assert.match(text, /tracehouse_receiver_requests_total\{code="400"\} [3-9]/);
    assert.match(text, /tracehouse_receiver_requests_total\{code="413"\} 3/);
    assert.match(text, /tracehouse_receiver_accepted_spans_total 1\n/);
    assert.match(text, /tracehouse_receiver_accepted_log_records_total 2\n/);
    assert.match(text, /tracehouse_receiver_rejected_log_records_total\{reason="invalid"\} 1\n/);
    // exporters.kafka.client is auto here, and the suite installs the librdkafka client.
    assert.match(text, /tracehouse_kafka_producer_info\{client="librdkafka"\} 1\n/);
    assert.equal((await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/readyz`)).status, 200);
  });
});

describe('receiver without a logs pipeline', () => {
  let pipeline: TestPipeline;
  before(async () => {
    const only = { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] };
    pipeline = await startTestPipeline('receiver', testConfig({ processors: { attributes: null }, service: { pipelines: { traces: only } } }));
  });
  after(async () => pipeline?.stop());

  it('answers /v1/logs with 404 naming the missing pipeline, and still takes traces', async () => {
    const res = await fetch(`${pipeline.url}/v1/logs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { message: string }).message, /no logs pipeline: add one with the otlp receiver to service\.pipelines/);
    assert.equal((await fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 200);
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
