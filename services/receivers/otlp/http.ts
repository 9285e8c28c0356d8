// HTTP stage: OTLP/HTTP POST /v1/traces (opentelemetry-proto docs/specification.md), over HTTPS
// when a certificate is configured. With API keys configured, a request needs one (Bearer or
// x-api-key) and its spans go on with the key's tenant, which the attributes processor stamps over
// whatever their resource claims. 200 only after the pipelines made the spans durable; 400 bad data, 413 too large, 415 unsupported
// media, 503 + Retry-After when downstream is unavailable or the in-flight budget is spent.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import { OtlpDecodeError } from '../../otlp/model.js';
import { CONTENT_TYPE, RpcCode, exportResponse, statusBody, type OtlpEncoding } from '../../otlp/response.js';
import { decodeTraces } from '../../otlp/decode.js';
import { RequestError, decompress, encodingOf } from './request.js';
import { exportFailureStatus } from '../../shared/errors.js';
import type { TracesConsumer } from '../../component/component.js';
import { enforceLimits } from './limits.js';
import { splitProtobufByTrace } from './split-protobuf.js';

export const TRACES_PATH = '/v1/traces';

export interface OtlpHttpReceiver {
  readonly port: number;
  /** Stops taking requests and waits for those in flight to be answered. */
  close(): Promise<void>;
}

export async function startOtlpHttpReceiver(opts: {
  config: Config;
  /** The pipelines' first consumer; its `encoded` capability enables the protobuf split fast path. */
  next: TracesConsumer;
  registry: Registry;
  log: Logger;
}): Promise<OtlpHttpReceiver> {
  const { config, next, registry, log } = opts;
  const maxBody = config.otlp.maxBodyBytes;
  // Bodies being decoded or exported; past the budget new requests get 503 instead of growing memory.
  const maxInflightBytes = config.otlp.maxInflightBytes;
  let inflightBytes = 0;
  // Once closing, each answer also closes its connection, so keep-alive clients do not hold shutdown open.
  let closing = false;
  const requests = registry.counter('tracehouse_receiver_requests_total', 'OTLP export requests by HTTP status.');
  const acceptedSpans = registry.counter('tracehouse_receiver_accepted_spans_total', 'Spans acknowledged to clients.');
  const rejectedSpans = registry.counter('tracehouse_receiver_rejected_spans_total', 'Spans not accepted, by reason.');
  const receivedBytes = registry.counter('tracehouse_receiver_received_bytes_total', 'Request bytes received (as sent), by encoding.');
  const exportSeconds = registry.histogram('tracehouse_receiver_export_seconds', 'Time from decoded request to durable export.');
  const decodePath = registry.counter('tracehouse_receiver_decode_path_total', 'Protobuf requests split without decoding spans (split) or decoded (decode).');
  const inflight = registry.gauge('tracehouse_receiver_inflight_bytes', 'Decoded request bytes awaiting export.');

  const reply = (res: ServerResponse, encoding: OtlpEncoding, status: number, body: Uint8Array, headers: Record<string, string> = {}): void => {
    requests.inc({ code: String(status) });
    res.writeHead(status, { 'content-type': CONTENT_TYPE[encoding], 'content-length': body.length, ...(closing ? { connection: 'close' } : {}), ...headers });
    res.end(body);
  };
  const fail = (res: ServerResponse, encoding: OtlpEncoding, status: number, code: number, message: string, headers?: Record<string, string>): void => {
    log.warn('otlp request refused', { status, reason: message });
    reply(res, encoding, status, statusBody(encoding, code, message), headers);
  };

  const limits = config.otlp.limits;
  const retentionDays = config.clickhouse.ttlDays;
  const checkSpanCount = (total: number): void => {
    if (total > limits.maxSpansPerRequest) throw new RequestError(413, `${total} spans in one request; the limit is ${limits.maxSpansPerRequest}`);
  };
  const timedExport = async (spanCount: number, run: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    await run();
    exportSeconds.observe({}, (performance.now() - started) / 1000);
    acceptedSpans.inc({}, spanCount);
  };

  /** The key's tenant, undefined when authentication is off; 401 for a missing or unknown key. */
  function authenticate(req: IncomingMessage): string | undefined {
    const keys = config.otlp.apiKeys;
    if (keys.size === 0) return undefined;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const header = req.headers['x-api-key'];
    const key = bearer ?? (typeof header === 'string' ? header : undefined);
    if (!key) throw new RequestError(401, 'an API key is required (Authorization: Bearer KEY or x-api-key)');
    const tenant = keys.get(createHash('sha256').update(key).digest('hex'));
    if (tenant === undefined) throw new RequestError(401, 'unknown API key');
    return tenant;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const encoding = encodingOf(req.headers['content-type']);
    const answerAs = encoding ?? 'json';
    try {
      const tenant = authenticate(req);
      if ((req.url ?? '').split('?')[0] !== TRACES_PATH) throw new RequestError(404, `no route for ${req.url}; OTLP traces go to ${TRACES_PATH}`);
      if (req.method !== 'POST') throw new RequestError(405, 'OTLP export requires POST');
      if (encoding === null) throw new RequestError(415, `unsupported Content-Type "${req.headers['content-type'] ?? ''}" (application/x-protobuf or application/json)`);
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody) throw new RequestError(413, `body of ${declared} bytes exceeds ${maxBody}`);
      if (inflightBytes > 0 && inflightBytes + Math.max(declared, 1) > maxInflightBytes) {
        rejectedSpans.inc({ reason: 'backpressure' });
        return fail(res, answerAs, 503, RpcCode.UNAVAILABLE, 'receiver is at its in-flight limit; retry later', { 'retry-after': '1' });
      }
      // Reserve the declared size on arrival, so concurrent requests see each other before their bodies are read.
      let accounted = Math.max(declared, 0);
      const account = (bytes: number): void => {
        inflightBytes += bytes - accounted;
        accounted = bytes;
        inflight.set({}, inflightBytes);
      };
      inflightBytes += accounted;
      try {
        const raw = await readBody(req, maxBody);
        receivedBytes.inc({ encoding }, raw.length);
        const body = await decompress(raw, req.headers['content-encoding'], maxBody);
        account(body.length);
        // Protobuf to a chain that takes per-trace messages as they are: split without decoding spans, unless the request needs the decoding path.
        const encoded = encoding === 'protobuf' ? next.encoded : undefined;
        const tenancy = encoded?.tenancy;
        const fast = encoded && tenancy ? splitProtobufByTrace(body, { limits, retentionDays, tenancy, tenant, maxMessageBytes: encoded.maxTraceBytes }) : null;
        if (encoding === 'protobuf') decodePath.inc({ path: fast === null ? 'decode' : 'split' });
        if (encoded && fast !== null) {
          const spanCount = fast.reduce((n, t) => n + t.spans, 0);
          checkSpanCount(spanCount);
          if (spanCount > 0) await timedExport(spanCount, () => encoded.consume(fast));
          return reply(res, encoding, 200, exportResponse(encoding, 0, ''));
        }
        const received = decodeTraces(encoding, body);
        checkSpanCount(received.spanCount + received.rejectedSpans);
        const decoded = enforceLimits(received, limits, retentionDays);
        if (decoded.rejectedSpans > 0) {
          rejectedSpans.inc({ reason: 'invalid' }, decoded.rejectedSpans);
          log.warn('spans rejected', { rejected: decoded.rejectedSpans, reason: decoded.rejectionReason });
        }
        if (decoded.spanCount > 0) {
          await timedExport(decoded.spanCount, () => next.consumeTraces(decoded.data, { tenant }));
        }
        reply(res, encoding, 200, exportResponse(encoding, decoded.rejectedSpans, decoded.rejectionReason));
      } finally {
        account(0);
      }
    } catch (err) {
      const failure = exportFailureStatus(err);
      if (err instanceof RequestError) {
        if (err.status === 413) rejectedSpans.inc({ reason: 'too_large' });
        const code = err.status === 413 ? RpcCode.RESOURCE_EXHAUSTED : err.status === 401 ? RpcCode.UNAUTHENTICATED : RpcCode.INVALID_ARGUMENT;
        const headers: Record<string, string> = err.status === 413 ? { connection: 'close' } : err.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
        fail(res, answerAs, err.status, code, err.message, headers);
      } else if (err instanceof OtlpDecodeError) {
        rejectedSpans.inc({ reason: 'undecodable' });
        fail(res, answerAs, 400, RpcCode.INVALID_ARGUMENT, `cannot decode OTLP ${encoding}: ${err.message}`);
      } else if (failure !== undefined) {
        const { status, retryAfterSeconds } = failure;
        const message = (err as Error).message;
        if (status === 503) {
          rejectedSpans.inc({ reason: 'unavailable' });
          fail(res, answerAs, 503, RpcCode.UNAVAILABLE, message, { 'retry-after': String(retryAfterSeconds) });
        } else {
          rejectedSpans.inc({ reason: status === 413 ? 'too_large' : 'rejected' });
          fail(res, answerAs, status, status === 413 ? RpcCode.RESOURCE_EXHAUSTED : RpcCode.INVALID_ARGUMENT, message);
        }
      } else {
        log.error('otlp request failed', { err });
        fail(res, answerAs, 500, RpcCode.INTERNAL, 'internal error');
      }
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const tls = config.otlp.tls;
  const server: Server = tls ? createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onRequest) : createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.otlp.port, config.otlp.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Reads the body, failing with 413 as soon as it passes maxBytes rather than buffering it all. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new RequestError(413, `body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
