// gRPC stage: OTLP/gRPC TraceService/Export and LogsService/Export (opentelemetry-proto; each only
// when a pipeline takes its signal), over TLS when a certificate is configured. The same export as OTLP/HTTP (export.ts): API keys from the `authorization: Bearer`
// or `x-api-key` metadata, gzip (grpc-js undoes it within the message size cap), partial success
// in the response, and refusals as gRPC codes: UNAVAILABLE with a google.rpc.RetryInfo detail when
// the client should retry (the SDKs wait that long), RESOURCE_EXHAUSTED without one for a request
// too large to ever take, INVALID_ARGUMENT for bad data, UNAUTHENTICATED for a missing key.
import { readFileSync } from 'node:fs';
import { Metadata, Server, ServerCredentials, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData, status as GrpcStatus } from '@grpc/grpc-js';
import type { Registry } from '../../shared/metrics.js';
import { exportResponse } from '../../otlp/response.js';
import { ProtoWriter } from '../../otlp/wire.js';
import type { GrpcProtocol } from './config.js';
import type { OtlpExport, Refusal } from './export.js';
import type { Signal } from '../../otlp/model.js';

export const TRACE_SERVICE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const LOGS_SERVICE_EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

const identity = (b: Buffer): Buffer => b;

/** Bodies stay bytes: export.ts splits or decodes them as the HTTP transport does. */
function exportService(path: string): ServiceDefinition {
  return { Export: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } };
}

const SERVICES: Record<Signal, ServiceDefinition> = { traces: exportService(TRACE_SERVICE_EXPORT), logs: exportService(LOGS_SERVICE_EXPORT) };

export interface OtlpGrpcReceiver {
  readonly port: number;
  /** Stops taking calls and waits for those in flight to be answered. */
  close(): Promise<void>;
}

/** google.rpc.Status with a google.rpc.RetryInfo detail: the delay the OTLP exporters honour. */
function statusDetails(refusal: Refusal): Buffer {
  const retryInfo = new ProtoWriter(32).fork(1).uint(1, refusal.retryAfterSeconds ?? 0).join().finish();
  const w = new ProtoWriter(128 + refusal.message.length * 3).uint(1, refusal.rpcCode).string(2, refusal.message);
  w.fork(3).string(1, 'type.googleapis.com/google.rpc.RetryInfo').bytes(2, retryInfo).join();
  return Buffer.from(w.finish());
}

export async function startOtlpGrpcReceiver(opts: { protocol: GrpcProtocol; otlp: OtlpExport; registry: Registry }): Promise<OtlpGrpcReceiver> {
  const { protocol, otlp, registry } = opts;
  const calls = registry.counter('tracehouse_receiver_grpc_calls_total', 'OTLP/gRPC export calls by status code.');
  const receivedBytes = registry.counter('tracehouse_receiver_received_bytes_total', 'Request bytes received (as sent), by encoding.');
  const server = new Server({ 'grpc.max_receive_message_length': protocol.maxRecvMsgBytes });

  const exportCall = (signal: Signal) => (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const metadataKey = (name: string): string | undefined => {
      const v = call.metadata.get(name)[0];
      return typeof v === 'string' ? v : undefined;
    };
    void (async () => {
      try {
        const bearer = /^Bearer\s+(\S+)$/i.exec(metadataKey('authorization') ?? '')?.[1];
        const tenant = otlp.authenticate(bearer ?? metadataKey('x-api-key'), 'metadata authorization: Bearer KEY or x-api-key');
        const body = call.request;
        receivedBytes.inc({ encoding: 'grpc' }, body.length);
        const result = await otlp.withBudget(body.length, () => otlp.export(signal, 'protobuf', body, tenant));
        calls.inc({ code: 'OK' });
        callback(null, Buffer.from(exportResponse('protobuf', signal, result.rejected, result.rejectionReason)));
      } catch (err) {
        const refusal = otlp.refusal(err, 'protobuf', signal);
        const metadata = new Metadata();
        if (refusal.retryAfterSeconds !== undefined) metadata.set('grpc-status-details-bin', statusDetails(refusal));
        calls.inc({ code: GrpcStatus[refusal.rpcCode] ?? String(refusal.rpcCode) });
        callback({ code: refusal.rpcCode, details: refusal.message, metadata });
      }
    })();
  };
  for (const signal of ['traces', 'logs'] as const) if (otlp.serves(signal)) server.addService(SERVICES[signal], { Export: exportCall(signal) });

  const credentials = protocol.tls ? ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(protocol.tls.certFile), private_key: readFileSync(protocol.tls.keyFile) }], false) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${protocol.host.includes(':') ? `[${protocol.host}]` : protocol.host}:${protocol.port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Calls in flight are answered; a client that keeps its stream open past that is cut.
        const force = setTimeout(() => server.forceShutdown(), 10_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
