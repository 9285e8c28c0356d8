// HTTP stage: OTLP/HTTP POST /v1/traces and /v1/logs (opentelemetry-proto docs/specification.md),
// over HTTPS when a certificate is configured; a signal no pipeline takes answers 404. With API keys configured, a request needs one (Bearer or
// x-api-key) and its spans go on with the key's tenant, which the attributes processor stamps over
// whatever their resource claims. 200 only after the pipelines made the spans durable; 400 bad data, 413 too large, 415 unsupported
// media, 503 + Retry-After when downstream is unavailable or the in-flight budget is spent.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from '../../shared/metrics.js';
import { CONTENT_TYPE, exportResponse, statusBody, type OtlpEncoding } from '../../otlp/response.js';
import type { HttpProtocol } from './config.js';
import type { OtlpExport } from './export.js';
import type { Signal } from '../../otlp/model.js';
import { RequestError, decompress, encodingOf } from './request.js';

export const TRACES_PATH = '/v1/traces';
export const LOGS_PATH = '/v1/logs';

const SIGNAL_OF_PATH: Record<string, Signal> = { [TRACES_PATH]: 'traces', [LOGS_PATH]: 'logs' };

export interface OtlpHttpReceiver {
  readonly port: number;
  /** Stops taking requests and waits for those in flight to be answered. */
  close(): Promise<void>;
}

export async function startOtlpHttpReceiver(opts: {
  config: HttpProtocol;
  /** What a request does once its body is read (shared with the gRPC transport). */
  otlp: OtlpExport;
  registry: Registry;
}): Promise<OtlpHttpReceiver> {
  const { config, otlp, registry } = opts;
  const maxBody = config.maxBodyBytes;
  // Once closing, each answer also closes its connection, so keep-alive clients do not hold shutdown open.
  let closing = false;
  const requests = registry.counter('tracehouse_receiver_requests_total', 'OTLP export requests by HTTP status.');
  const receivedBytes = registry.counter('tracehouse_receiver_received_bytes_total', 'Request bytes received (as sent), by encoding.');

  const reply = (res: ServerResponse, encoding: OtlpEncoding, status: number, body: Uint8Array, headers: Record<string, string> = {}): void => {
    requests.inc({ code: String(status) });
    res.writeHead(status, { 'content-type': CONTENT_TYPE[encoding], 'content-length': body.length, ...(closing ? { connection: 'close' } : {}), ...headers });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const encoding = encodingOf(req.headers['content-type']);
    const signal = SIGNAL_OF_PATH[(req.url ?? '').split('?')[0]!];
    try {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const header = req.headers['x-api-key'];
      const tenant = otlp.authenticate(bearer ?? (typeof header === 'string' ? header : undefined), 'Authorization: Bearer KEY or x-api-key');
      if (signal === undefined) throw new RequestError(404, `no route for ${req.url}; OTLP traces go to ${TRACES_PATH}, logs to ${LOGS_PATH}`);
      if (req.method !== 'POST') throw new RequestError(405, 'OTLP export requires POST');
      if (encoding === null) throw new RequestError(415, `unsupported Content-Type "${req.headers['content-type'] ?? ''}" (application/x-protobuf or application/json)`);
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody) throw new RequestError(413, `body of ${declared} bytes exceeds ${maxBody}`);
      const result = await otlp.withBudget(declared, async (account) => {
        const raw = await readBody(req, maxBody);
        receivedBytes.inc({ encoding }, raw.length);
        const body = await decompress(raw, req.headers['content-encoding'], maxBody);
        account(body.length);
        return otlp.export(signal, encoding, body, tenant);
      });
      reply(res, encoding, 200, exportResponse(encoding, signal, result.rejected, result.rejectionReason));
    } catch (err) {
      const refusal = otlp.refusal(err, encoding, signal ?? 'traces');
      const headers: Record<string, string> = {};
      if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = String(refusal.retryAfterSeconds);
      // The rest of a body past the limit is not read: the connection cannot be reused.
      if (refusal.httpStatus === 413) headers.connection = 'close';
      if (refusal.httpStatus === 401) headers['www-authenticate'] = 'Bearer';
      const answerAs = encoding ?? 'json';
      reply(res, answerAs, refusal.httpStatus, statusBody(answerAs, refusal.rpcCode, refusal.message), headers);
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const tls = config.tls;
  const server: Server = tls ? createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onRequest) : createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
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
