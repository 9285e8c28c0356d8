// What an OTLP export request does, whichever transport carried it (http.ts, grpc.ts): the API key
// names the tenant, the in-flight budget bounds memory, the body is split per trace (protobuf fast
// path) or decoded and limited, the pipelines take the spans, and the answer is a partial success
// or one refusal, mapped once to both an HTTP status and a gRPC code.
import { createHash } from 'node:crypto';
import type { TracesConsumer } from '../../component/component.js';
import { decodeTraces } from '../../otlp/decode.js';
import { OtlpDecodeError } from '../../otlp/model.js';
import { RpcCode, type OtlpEncoding } from '../../otlp/response.js';
import { exportFailureStatus } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { Registry } from '../../shared/metrics.js';
import type { OtlpReceiverConfig } from './config.js';
import { enforceLimits } from './limits.js';
import { RequestError } from './request.js';
import { splitProtobufByTrace } from './split-protobuf.js';

export interface ExportResult {
  rejectedSpans: number;
  rejectionReason: string;
}

/** Why a request was not taken, for both transports. */
export interface Refusal {
  httpStatus: number;
  rpcCode: (typeof RpcCode)[keyof typeof RpcCode];
  message: string;
  /** Set when the client should retry, after this long. */
  retryAfterSeconds?: number;
}

/** The in-flight budget is spent: retry soon. */
class Backpressure extends Error {}

export class TracesExport {
  private inflightBytes = 0;
  private readonly acceptedSpans;
  private readonly rejectedSpans;
  private readonly exportSeconds;
  private readonly decodePath;
  private readonly inflight;

  constructor(
    private readonly config: OtlpReceiverConfig,
    /** Spans older than this are refused: ClickHouse's TTL would delete them at once. */
    private readonly retentionDays: number,
    private readonly next: TracesConsumer,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.acceptedSpans = registry.counter('tracehouse_receiver_accepted_spans_total', 'Spans acknowledged to clients.');
    this.rejectedSpans = registry.counter('tracehouse_receiver_rejected_spans_total', 'Spans not accepted, by reason.');
    this.exportSeconds = registry.histogram('tracehouse_receiver_export_seconds', 'Time from decoded request to durable export.');
    this.decodePath = registry.counter('tracehouse_receiver_decode_path_total', 'Protobuf requests split without decoding spans (split) or decoded (decode).');
    this.inflight = registry.gauge('tracehouse_receiver_inflight_bytes', 'Decoded request bytes awaiting export.');
  }

  /** The key's tenant, undefined when authentication is off; 401 for a missing or unknown key. */
  authenticate(key: string | undefined, how: string): string | undefined {
    const keys = this.config.apiKeys;
    if (keys.size === 0) return undefined;
    if (!key) throw new RequestError(401, `an API key is required (${how})`);
    const tenant = keys.get(createHash('sha256').update(key).digest('hex'));
    if (tenant === undefined) throw new RequestError(401, 'unknown API key');
    return tenant;
  }

  /**
   * Runs `work` holding `declaredBytes` of the in-flight budget (reserved on arrival, so that
   * concurrent requests see each other before their bodies are read); `account` moves the
   * reservation to the decoded size once known.
   */
  async withBudget<T>(declaredBytes: number, work: (account: (bytes: number) => void) => Promise<T>): Promise<T> {
    if (this.inflightBytes > 0 && this.inflightBytes + Math.max(declaredBytes, 1) > this.config.maxInflightBytes) throw new Backpressure();
    let accounted = Math.max(declaredBytes, 0);
    this.inflightBytes += accounted;
    const account = (bytes: number): void => {
      this.inflightBytes += bytes - accounted;
      accounted = bytes;
      this.inflight.set({}, this.inflightBytes);
    };
    try {
      return await work(account);
    } finally {
      account(0);
    }
  }

  /** Resolves once the pipelines hold the accepted spans durably. */
  async export(encoding: OtlpEncoding, body: Buffer, tenant: string | undefined): Promise<ExportResult> {
    const { limits } = this.config;
    // Protobuf to a chain that takes per-trace messages as they are: split without decoding spans, unless the request needs the decoding path.
    const encoded = encoding === 'protobuf' ? this.next.encoded : undefined;
    const tenancy = encoded?.tenancy;
    const fast = encoded && tenancy ? splitProtobufByTrace(body, { limits, retentionDays: this.retentionDays, tenancy, tenant, maxMessageBytes: encoded.maxTraceBytes }) : null;
    if (encoding === 'protobuf') this.decodePath.inc({ path: fast === null ? 'decode' : 'split' });
    if (encoded && fast !== null) {
      const spanCount = fast.reduce((n, t) => n + t.spans, 0);
      this.checkSpanCount(spanCount);
      if (spanCount > 0) await this.timed(spanCount, () => encoded.consume(fast));
      return { rejectedSpans: 0, rejectionReason: '' };
    }
    const received = decodeTraces(encoding, body);
    this.checkSpanCount(received.spanCount + received.rejectedSpans);
    const decoded = enforceLimits(received, limits, this.retentionDays);
    if (decoded.rejectedSpans > 0) {
      this.rejectedSpans.inc({ reason: 'invalid' }, decoded.rejectedSpans);
      this.log.warn('spans rejected', { rejected: decoded.rejectedSpans, reason: decoded.rejectionReason });
    }
    if (decoded.spanCount > 0) await this.timed(decoded.spanCount, () => this.next.consumeTraces(decoded.data, { tenant }));
    return { rejectedSpans: decoded.rejectedSpans, rejectionReason: decoded.rejectionReason };
  }

  /** The one answer to a failed request, counted and logged; unknown errors are 500 / INTERNAL. */
  refusal(err: unknown, encoding: OtlpEncoding | null): Refusal {
    const refusal = this.classify(err, encoding);
    if (refusal.httpStatus === 500) this.log.error('otlp request failed', { err });
    else this.log.warn('otlp request refused', { status: refusal.httpStatus, reason: refusal.message });
    return refusal;
  }

  private classify(err: unknown, encoding: OtlpEncoding | null): Refusal {
    if (err instanceof Backpressure) {
      this.rejectedSpans.inc({ reason: 'backpressure' });
      return { httpStatus: 503, rpcCode: RpcCode.UNAVAILABLE, message: 'receiver is at its in-flight limit; retry later', retryAfterSeconds: 1 };
    }
    if (err instanceof RequestError) {
      if (err.status === 413) this.rejectedSpans.inc({ reason: 'too_large' });
      const rpcCode = err.status === 413 ? RpcCode.RESOURCE_EXHAUSTED : err.status === 401 ? RpcCode.UNAUTHENTICATED : RpcCode.INVALID_ARGUMENT;
      return { httpStatus: err.status, rpcCode, message: err.message };
    }
    if (err instanceof OtlpDecodeError) {
      this.rejectedSpans.inc({ reason: 'undecodable' });
      return { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: `cannot decode OTLP ${encoding}: ${err.message}` };
    }
    const failure = exportFailureStatus(err);
    if (failure === undefined) return { httpStatus: 500, rpcCode: RpcCode.INTERNAL, message: 'internal error' };
    const message = (err as Error).message;
    if (failure.status === 503) {
      this.rejectedSpans.inc({ reason: 'unavailable' });
      return { httpStatus: 503, rpcCode: RpcCode.UNAVAILABLE, message, retryAfterSeconds: failure.retryAfterSeconds ?? 1 };
    }
    this.rejectedSpans.inc({ reason: failure.status === 413 ? 'too_large' : 'rejected' });
    return { httpStatus: failure.status, rpcCode: failure.status === 413 ? RpcCode.RESOURCE_EXHAUSTED : RpcCode.INVALID_ARGUMENT, message };
  }

  private checkSpanCount(total: number): void {
    const max = this.config.limits.maxSpansPerRequest;
    if (total > max) throw new RequestError(413, `${total} spans in one request; the limit is ${max}`);
  }

  private async timed(spanCount: number, run: () => Promise<void>): Promise<void> {
    const started = performance.now();
    await run();
    this.exportSeconds.observe({}, (performance.now() - started) / 1000);
    this.acceptedSpans.inc({}, spanCount);
  }
}
