// OTLP/HTTP response bodies: ExportTraceServiceResponse on success (with partial_success when
// spans were rejected) and google.rpc.Status on every 4xx/5xx, in the request's encoding.
import { ProtoWriter } from './wire.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

export function exportResponse(encoding: OtlpEncoding, rejectedSpans: number, errorMessage: string): Uint8Array {
  if (encoding === 'json') {
    const body = rejectedSpans > 0 || errorMessage ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  const w = new ProtoWriter(64);
  if (rejectedSpans > 0 || errorMessage) w.fork(1).uint(1, rejectedSpans).string(2, errorMessage).join();
  return w.finish();
}

/** google.rpc.Code values used for OTLP errors. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function statusBody(encoding: OtlpEncoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return new ProtoWriter(64 + message.length * 3).uint(1, code).string(2, message).finish();
}
