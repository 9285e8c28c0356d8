// OTLP/HTTP response bodies: ExportTraceServiceResponse / ExportLogsServiceResponse on success (with
// partial_success when items were rejected) and google.rpc.Status on every 4xx/5xx, in the request's
// encoding. Both responses have the same fields; only the JSON name of the rejected count differs.
import type { Signal } from './model.js';
import { ProtoWriter } from './wire.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

const REJECTED_JSON_KEY: Record<Signal, string> = { traces: 'rejectedSpans', logs: 'rejectedLogRecords' };

export function exportResponse(encoding: OtlpEncoding, signal: Signal, rejected: number, errorMessage: string): Uint8Array {
  if (encoding === 'json') {
    const body = rejected > 0 || errorMessage ? { partialSuccess: { [REJECTED_JSON_KEY[signal]]: String(rejected), errorMessage } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  const w = new ProtoWriter(64);
  if (rejected > 0 || errorMessage) w.fork(1).uint(1, rejected).string(2, errorMessage).join();
  return w.finish();
}

/** google.rpc.Code values used for OTLP errors. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function statusBody(encoding: OtlpEncoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return new ProtoWriter(64 + message.length * 3).uint(1, code).string(2, message).finish();
}
