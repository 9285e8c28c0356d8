// The OTLP/gRPC transport against a real grpc-js client: what each outcome of an export becomes on
// the wire (partial success, UNAUTHENTICATED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE with
// a google.rpc.RetryInfo the SDKs wait on), gzip, TLS, and an API key's tenant reaching the
// pipeline. The pipeline behind it is a recording consumer; the SDK-to-ClickHouse tests cover the
// real one.
import assert from 'node:assert/strict';
import { unusedResources } from '../harness/resources.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Metadata, type ServiceError, credentials, status } from '@grpc/grpc-js';
import type { ComponentType, LogsConsumer, TracesConsumer } from '../../services/component/component.js';
import { resolveConfig } from '../../services/config.js';
import { type Span, type TracesData, countLogRecords, emptyLogRecord, emptySpan } from '../../services/otlp/model.js';
import { encodeLogsProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { ProtoReader } from '../../services/otlp/wire.js';
import { OtlpReceiver, otlpReceiverFactory } from '../../services/receivers/otlp/receiver.js';
import { LOGS_SERVICE_EXPORT, TRACE_SERVICE_EXPORT } from '../../services/receivers/otlp/grpc.js';
import { clickhouseExporterFactory } from '../../services/exporters/clickhouse/exporter.js';
import { PermanentError, RetryableError } from '../../services/shared/errors.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { kv } from '../harness/generated-traces.js';
import { partialSuccess } from '../harness/otlp-responses.js';

const sha = (key: string): string => createHash('sha256').update(key).digest('hex');

function request(spanCount: number, startNs = BigInt(Date.now()) * 1_000_000n): Buffer {
  const spans: Span[] = Array.from({ length: spanCount }, (_, i) => Object.assign(emptySpan(), { traceId: 'ab'.repeat(16), spanId: (i + 1).toString(16).padStart(16, '0'), name: 'op', startTimeUnixNano: startNs, endTimeUnixNano: startNs + 1000n }));
  const data: TracesData = { resourceSpans: [{ resource: { attributes: [kv('service.name', 'svc')], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }] };
  return Buffer.from(encodeTracesProtobuf(data));
}

function logsRequest(records: number, traceId = 'ab'.repeat(16)): Buffer {
  const logRecords = Array.from({ length: records }, (_, i) => Object.assign(emptyLogRecord(), { timeUnixNano: BigInt(Date.now()) * 1_000_000n, body: { stringValue: `line ${i}` }, traceId }));
  return Buffer.from(encodeLogsProtobuf({ resourceLogs: [{ resource: { attributes: [kv('service.name', 'svc')], droppedAttributesCount: 0 }, scopeLogs: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, logRecords, schemaUrl: '' }], schemaUrl: '' }] }));
}


/** Visits the fields of a message up to `end`; a field the visitor does not read (returns false) is skipped. */
function eachField(r: ProtoReader, end: number, visit: (field: number) => boolean): void {
  while (r.next(end)) if (!visit(r.field)) r.skip();
}

/** The RetryInfo delay in google.rpc.Status details, in seconds; undefined without one. */
function retryDelaySeconds(err: ServiceError): number | undefined {
  const details = err.metadata.get('grpc-status-details-bin')[0];
  if (!(details instanceof Buffer)) return undefined;
  let delay: number | undefined;
  const r = new ProtoReader(details);
  eachField(r, details.length, (statusField) => {
    if (statusField !== 3) return false;
    let typeUrl = '';
    eachField(r, r.len(), (anyField) => {
      if (anyField === 1) typeUrl = r.string();
      else if (anyField === 2 && typeUrl.endsWith('google.rpc.RetryInfo')) {
        eachField(r, r.len(), (infoField) => {
          if (infoField !== 1) return false;
          delay = 0;
          eachField(r, r.len(), (durationField) => durationField === 1 && ((delay = r.uint()), true));
          return true;
        });
      } else return false;
      return true;
    });
    return true;
  });
  return delay;
}

interface Harness {
  call(body: Buffer, metadata?: Record<string, string>, options?: { gzip?: boolean; method?: string }): Promise<Buffer>;
  received: Array<{ spans: number; tenant: string | undefined }>;
  receivedLogs: Array<{ records: number; tenant: string | undefined }>;
  fail: { next: Error | undefined };
  stop(): Promise<void>;
}

async function receiver(otlp: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, tls?: { ca: Buffer }, withLogs = true): Promise<Harness> {
  const config = resolveConfig({ receivers: { otlp }, exporters: { kafka: null }, processors: { attributes: null }, service: { pipelines: { traces: { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] } } } }, env);
  const received: Harness['received'] = [];
  const receivedLogs: Harness['receivedLogs'] = [];
  const logs: LogsConsumer = { consumeLogs: async (data, ctx) => void receivedLogs.push({ records: countLogRecords(data), tenant: ctx.tenant }) };
  const fail: Harness['fail'] = { next: undefined };
  const next: TracesConsumer = {
    consumeTraces: async (data, ctx) => {
      const err = fail.next;
      if (err) throw err;
      received.push({ spans: data.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).length, tenant: ctx.tenant });
    },
  };
  const component = (await otlpReceiverFactory.create(
    {
      id: 'otlp',
      pipeline: 'service.pipelines.traces',
      config: config.receivers.otlp,
      configOf: <D>(f: ComponentType<D>): D => {
        assert.equal(f as unknown, clickhouseExporterFactory, 'the receiver reads only the retention of the clickhouse exporter');
        return config.exporters.clickhouse as D;
      },
      registry: new Registry(),
      log: createLogger('test', 100),
      reportFatal: (err) => assert.fail(err),
      resources: unusedResources,
    },
    withLogs ? { traces: next, logs } : { traces: next },
  )) as OtlpReceiver;
  await component.start();
  const address = `127.0.0.1:${component.grpcPort}`;
  const client = new Client(address, tls ? credentials.createSsl(tls.ca) : credentials.createInsecure());
  const gzipClient = new Client(address, tls ? credentials.createSsl(tls.ca) : credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  return {
    received,
    receivedLogs,
    fail,
    call: (body, metadata = {}, options = {}) =>
      new Promise((resolve, reject) => {
        const md = new Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        (options.gzip ? gzipClient : client).makeUnaryRequest(options.method ?? TRACE_SERVICE_EXPORT, (b: Buffer) => b, (b: Buffer) => b, body, md, (err, value) => (err ? reject(err) : resolve(value!)));
      }),
    stop: async () => {
      client.close();
      gzipClient.close();
      await component.shutdown();
    },
  };
}

const GRPC_ONLY = { protocols: { grpc: { endpoint: '127.0.0.1:0' } } };

describe('OTLP/gRPC receiver', () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });
  const started = async (...args: Parameters<typeof receiver>): Promise<Harness> => {
    const h = await receiver(...args);
    stops.push(h.stop);
    return h;
  };

  it('takes an export, plain and gzip, and answers an empty ExportTraceServiceResponse', async () => {
    const h = await started(GRPC_ONLY);
    assert.deepEqual(partialSuccess(await h.call(request(3))), { rejected: 0, message: '' });
    assert.deepEqual(partialSuccess(await h.call(request(2), {}, { gzip: true })), { rejected: 0, message: '' });
    assert.deepEqual(h.received, [{ spans: 3, tenant: undefined }, { spans: 2, tenant: undefined }]);
  });

  it('takes LogsService exports, with partial success for records it rejects and the API key\'s tenant; UNIMPLEMENTED without a logs pipeline', async () => {
    const h = await started(GRPC_ONLY, { TRACEHOUSE_API_KEYS: `${sha('key-logs')}:logs-tenant` });
    const auth = { authorization: 'Bearer key-logs' };
    assert.deepEqual(partialSuccess(await h.call(logsRequest(3), auth, { method: LOGS_SERVICE_EXPORT })), { rejected: 0, message: '' });
    const answer = partialSuccess(await h.call(Buffer.concat([logsRequest(1), logsRequest(2, 'abcd')]), auth, { method: LOGS_SERVICE_EXPORT, gzip: true }));
    assert.equal(answer.rejected, 2);
    assert.match(answer.message, /log record: trace_id must be empty or 16 non-zero bytes/);
    assert.deepEqual(h.receivedLogs, [{ records: 3, tenant: 'logs-tenant' }, { records: 1, tenant: 'logs-tenant' }]);
    assert.deepEqual(h.received, [], 'no log record reached the traces pipeline');
    const tracesOnly = await started(GRPC_ONLY, {}, undefined, false);
    await assert.rejects(tracesOnly.call(logsRequest(1), {}, { method: LOGS_SERVICE_EXPORT }), (err: ServiceError) => err.code === status.UNIMPLEMENTED);
  });

  it('answers partial success for spans it rejects, and INVALID_ARGUMENT for an undecodable body', async () => {
    const h = await started({ ...GRPC_ONLY, limits: { max_future_skew: '1h' } });
    const future = BigInt(Date.now() + 3 * 3_600_000) * 1_000_000n;
    const answer = partialSuccess(await h.call(Buffer.concat([request(1), request(2, future)])));
    assert.equal(answer.rejected, 2);
    assert.match(answer.message, /future/);
    await assert.rejects(h.call(Buffer.from([0x0a, 0xff, 0xff])), (err: ServiceError) => err.code === status.INVALID_ARGUMENT && /cannot decode OTLP protobuf/.test(err.details));
  });

  it('needs an API key from the metadata when keys are configured, and passes on its tenant', async () => {
    const h = await started(GRPC_ONLY, { TRACEHOUSE_API_KEYS: `${sha('key-acme')}:acme` });
    await assert.rejects(h.call(request(1)), (err: ServiceError) => err.code === status.UNAUTHENTICATED && /API key is required/.test(err.details));
    await assert.rejects(h.call(request(1), { authorization: 'Bearer wrong' }), (err: ServiceError) => err.code === status.UNAUTHENTICATED);
    await h.call(request(1), { authorization: 'Bearer key-acme' });
    await h.call(request(1), { 'x-api-key': 'key-acme' });
    assert.deepEqual(h.received, [{ spans: 1, tenant: 'acme' }, { spans: 1, tenant: 'acme' }]);
  });

  it('answers UNAVAILABLE with RetryInfo when the pipeline is down for now, and no RetryInfo for data it can never take', async () => {
    const h = await started(GRPC_ONLY);
    h.fail.next = new RetryableError('kafka is down', 3);
    await assert.rejects(h.call(request(1)), (err: ServiceError) => err.code === status.UNAVAILABLE && retryDelaySeconds(err) === 3);
    h.fail.next = new PermanentError('bad', 'invalid');
    await assert.rejects(h.call(request(1)), (err: ServiceError) => err.code === status.INVALID_ARGUMENT && retryDelaySeconds(err) === undefined);
    h.fail.next = new PermanentError('a span is larger than the Kafka message limit', 'too_large');
    await assert.rejects(h.call(request(1)), (err: ServiceError) => err.code === status.RESOURCE_EXHAUSTED && retryDelaySeconds(err) === undefined);
  });

  it('refuses a message over max_recv_msg_size_mib (after gzip too) and more spans than the limit, as RESOURCE_EXHAUSTED', async () => {
    const h = await started({ protocols: { grpc: { endpoint: '127.0.0.1:0', max_recv_msg_size_mib: 1 } }, limits: { max_spans_per_request: 10 } });
    const big = request(40_000);
    assert.ok(big.length > 1024 * 1024);
    await assert.rejects(h.call(big), (err: ServiceError) => err.code === status.RESOURCE_EXHAUSTED);
    await assert.rejects(h.call(big, {}, { gzip: true }), (err: ServiceError) => err.code === status.RESOURCE_EXHAUSTED);
    await assert.rejects(h.call(request(11)), (err: ServiceError) => err.code === status.RESOURCE_EXHAUSTED && /11 spans in one request; the limit is 10/.test(err.details));
    assert.deepEqual(h.received, []);
  });

  it('serves TLS with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracehouse-grpc-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      const h = await started({ protocols: { grpc: { endpoint: '127.0.0.1:0', tls: { cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') } } } }, {}, { ca: readFileSync(join(dir, 'cert.pem')) });
      await h.call(request(1));
      assert.deepEqual(h.received, [{ spans: 1, tenant: undefined }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves HTTP and gRPC when protocols is not given, and only what it lists otherwise', () => {
    const both = resolveConfig({}, {}).receivers.otlp;
    assert.deepEqual([both.http?.port, both.grpc?.port], [4318, 4317]);
    const grpcOnly = resolveConfig({ receivers: { otlp: { protocols: { grpc: null } } } }, {}).receivers.otlp;
    assert.deepEqual([grpcOnly.http, grpcOnly.grpc?.port], [null, 4317]);
    assert.equal(resolveConfig({}, { OTLP_GRPC_ENDPOINT: '127.0.0.1:5317' }).receivers.otlp.grpc?.port, 5317);
    assert.throws(() => resolveConfig({ receivers: { otlp: { protocols: {} } }, service: { pipelines: { traces: { receivers: ['otlp'], processors: ['attributes'], exporters: ['kafka'] } } }, processors: { attributes: null }, exporters: { kafka: null } }, {}), /^ConfigError: receivers\.otlp\.protocols must list http, grpc or both$/);
  });
});
