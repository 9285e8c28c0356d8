// Ingest security and hostile input, against the real broker: API keys (401, nothing written, the
// key's tenant overrides the resource's), HTTPS, ingest limits, malformed and hostile bodies, and a
// bounded fuzz round over HTTP that must never get a 5xx or take the receiver down.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Consumer, Kafka } from 'kafkajs';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { type Span, type TracesData, emptySpan } from '../../services/otlp/model.js';
import { allExportsSucceeded, emitAgentRun, sdkClient } from '../harness/agent-traces.js';
import { kv } from '../harness/generated-traces.js';
import { partialSuccess } from '../harness/otlp-responses.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const sha = (key: string): string => createHash('sha256').update(key).digest('hex');
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
let spanCounter = 1;

function span(overrides: Partial<Span> = {}): Span {
  const s = emptySpan();
  s.traceId = (spanCounter++).toString(16).padStart(32, 'a');
  s.spanId = (spanCounter++).toString(16).padStart(16, 'b');
  s.name = 'op';
  s.startTimeUnixNano = nowNs();
  s.endTimeUnixNano = s.startTimeUnixNano + 1_000_000n;
  return Object.assign(s, overrides);
}

function request(spans: Span[], tenant = 'claimed-tenant'): Uint8Array {
  const data: TracesData = { resourceSpans: [{ resource: { attributes: [kv('service.name', 'svc'), kv('tenant.id', tenant)], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }] };
  return encodeTracesProtobuf(data);
}

describe('ingest security and hostile input', () => {
  let pipeline: TestPipeline;
  let kafka: Kafka;
  let consumer: Consumer | undefined;
  const messages: TracesData[] = [];

  const post = (body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${pipeline.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', ...headers } });
  const auth = { authorization: 'Bearer key-acme' };

  before(async () => {
    pipeline = await startTestPipeline(
      'receiver',
      testConfig(
        { receivers: { otlp: { limits: { max_spans_per_request: 50, max_attributes_per_span: 20, max_attribute_value_bytes: 1000, max_events_per_span: 3, max_future_skew: '1h' } } } },
        { TRACEHOUSE_API_KEYS: `${sha('key-acme')}:acme,${sha('key-globex')}:globex` },
      ),
    );
    kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'security-test', logLevel: 0 });
    consumer = kafka.consumer({ groupId: `security-${pipeline.config.exporters.kafka.topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic: pipeline.config.exporters.kafka.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(decodeTracesProtobuf(message.value!).data) });
  });
  after(async () => {
    await consumer?.disconnect();
    await pipeline?.stop();
  });

  /** Spans that reached Kafka with this span name. */
  async function inKafka(name: string, expected: number): Promise<Array<{ span: Span; tenant: string }>> {
    const found = (): Array<{ span: Span; tenant: string }> =>
      messages.flatMap((m) => m.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.filter((s) => s.name === name).map((s) => ({ span: s, tenant: JSON.stringify(rs.resource.attributes.find((a) => a.key === 'tenant_id')?.value) })))));
    if (expected > 0) await waitFor(async () => found().length >= expected, 15_000, `${expected} span(s) named ${name} in Kafka (messages read: ${messages.length})`);
    else await new Promise((r) => setTimeout(r, 1500));
    return found();
  }

  it('refuses a missing or unknown API key with 401 and writes nothing', async () => {
    const none = await post(request([span({ name: 'no-key' })]));
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const wrong = await post(request([span({ name: 'no-key' })]), { authorization: 'Bearer not-a-key' });
    assert.equal(wrong.status, 401);
    const body = await (await post('{}', { 'content-type': 'application/json', 'x-api-key': 'nope' })).json();
    assert.deepEqual(body, { code: 16, message: 'unknown API key' });
    assert.equal((await inKafka('no-key', 0)).length, 0);
  });

  it("writes as the key's tenant whatever tenant the resource claims (Bearer and x-api-key)", async () => {
    assert.equal((await post(request([span({ name: 'as-acme' })], 'globex'), auth)).status, 200);
    assert.equal((await post(request([span({ name: 'as-globex' })], 'acme'), { 'x-api-key': 'key-globex' })).status, 200);
    assert.deepEqual((await inKafka('as-acme', 1)).map((s) => s.tenant), ['{"stringValue":"acme"}']);
    assert.deepEqual((await inKafka('as-globex', 1)).map((s) => s.tenant), ['{"stringValue":"globex"}']);
  });

  it('accepts a real SDK client that sends its key as a header', async () => {
    const client = sdkClient({ endpoint: pipeline.url, protocol: 'protobuf', gzip: true, resource: { 'service.name': 'sdk', 'tenant.id': 'someone-else' }, headers: auth });
    emitAgentRun(client.tracer, 1);
    await client.flush();
    await client.shutdown();
    assert.ok(allExportsSucceeded(client));
    assert.ok((await inKafka('invoke_agent research_assistant', 1)).every((s) => s.tenant === '{"stringValue":"acme"}'));
  });

  it('enforces the ingest limits: spans per request, attributes, value size, events', async () => {
    assert.equal((await post(request(Array.from({ length: 51 }, () => span())), auth)).status, 413);
    const attributes = Array.from({ length: 3000 }, (_, i) => kv(`attr.${i}`, i));
    attributes[0] = kv('huge', 'x'.repeat(2_000_000));
    const events = Array.from({ length: 10 }, (_, i) => ({ timeUnixNano: nowNs(), name: `e${i}`, attributes: [], droppedAttributesCount: 0 }));
    assert.equal((await post(request([span({ name: 'limited', attributes, events })]), auth)).status, 200);
    const [stored] = await inKafka('limited', 1);
    assert.equal(stored!.span.attributes.length, 20);
    assert.equal(stored!.span.droppedAttributesCount, 2980);
    assert.equal(stored!.span.events.length, 3);
    assert.equal(stored!.span.droppedEventsCount, 7);
    const huge = stored!.span.attributes[0]!.value as { stringValue: string };
    assert.equal(huge.stringValue, `${'x'.repeat(1000)}…[truncated]`);
  });

  it('rejects spans outside the time window through partial success and keeps the rest', async () => {
    const future = span({ name: 'window', startTimeUnixNano: nowNs() + 7_200_000_000_000n });
    const ancient = span({ name: 'window', startTimeUnixNano: 1_000_000_000n, endTimeUnixNano: 2_000_000_000n });
    const fine = span({ name: 'window' });
    const res = await post(request([future, ancient, fine]), auth);
    const onlyAncient = partialSuccess(new Uint8Array(await (await post(request([span({ name: 'window', startTimeUnixNano: 1_000_000_000n })]), auth)).arrayBuffer()));
    assert.match(onlyAncient.message, /starts before the 30-day retention window/);
    assert.equal(res.status, 200);
    const answer = partialSuccess(new Uint8Array(await res.arrayBuffer()));
    assert.equal(answer.rejected, 2);
    assert.match(answer.message, /^2 span\(s\) rejected; first: span \w+: starts more than 3600000 ms in the future$/);
    assert.deepEqual((await inKafka('window', 1)).map((s) => s.span.spanId), [fine.spanId]);
  });

  it('keeps invalid UTF-8 as replacement characters instead of failing', async () => {
    const body = Buffer.from(request([span({ name: 'utf8-AAAA' })]));
    const at = body.indexOf(Buffer.from('AAAA'));
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    assert.equal((await post(body, auth)).status, 200);
    await waitFor(async () => messages.some((m) => JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes('utf8-\ufffd\ufffdAA')), 15_000, 'the span with replacement characters');
  });

  it('answers deeply nested AnyValues with 400', async () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 200; i++) value = { arrayValue: { values: [value] } };
    const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: [{ key: 'deep', value }] }] }] }] });
    assert.equal((await post(json, { ...auth, 'content-type': 'application/json' })).status, 400);
  });

  it('survives a bounded fuzz round of random and mutated bodies: never a 5xx', async () => {
    const seed = Buffer.from(request([span({ attributes: [kv('a', 'b'), kv('n', 5)] }), span()]));
    const started = Date.now();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300 && Date.now() - started < 30_000; i++) {
      let body: Buffer;
      if (i % 3 === 0) body = randomBytes(1 + (i % 512));
      else {
        body = Buffer.from(seed);
        for (let m = 0; m < 1 + (i % 8); m++) body[(i * 7919 + m * 104729) % body.length] = (i * 31 + m) & 0xff;
      }
      const json = i % 5 === 0;
      const res = await post(json ? body.toString('latin1') : body, { ...auth, 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.arrayBuffer();
    }
    for (const status of statuses.keys()) assert.ok(status < 500, `fuzz got ${status}: ${JSON.stringify([...statuses])}`);
    assert.equal((await post(request([span()]), auth)).status, 200, 'the receiver still works');
  });
});


describe('receiver over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-tls-'));
  let pipeline: TestPipeline;
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    pipeline = await startTestPipeline('receiver', testConfig({}, { OTLP_TLS_CERT_FILE: join(dir, 'cert.pem'), OTLP_TLS_KEY_FILE: join(dir, 'key.pem') }));
  });
  after(async () => {
    await pipeline?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves OTLP over TLS with the configured certificate', async () => {
    const body = request([span({ name: 'over-tls' })]);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`https://127.0.0.1:${pipeline.app.otlpPort}/v1/traces`, { method: 'POST', ca: readFileSync(join(dir, 'cert.pem')), headers: { 'content-type': 'application/x-protobuf' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 200);
    await assert.rejects(fetch(`http://127.0.0.1:${pipeline.app.otlpPort}/v1/traces`, { method: 'POST', body: '{}' }), 'plain HTTP is not served');
  });
});
