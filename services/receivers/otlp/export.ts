// What an OTLP export request does, whichever transport carried it (http.ts, grpc.ts) and whichever
// signal: the API key names the tenant, the in-flight budget bounds memory, the body is split per
// trace (protobuf fast path) or decoded and limited, the pipelines take the spans or log records,
// and the answer is a partial success or one refusal, mapped once to both an HTTP status and a gRPC code.
import { createHash } from 'node:crypto';
import type { SignalConsumers } from '../../component/component.js';
import { decodeLogs, decodeTraces } from '../../otlp/decode.js';
import { OtlpDecodeError, type Signal } from '../../otlp/model.js';
import { RpcCode, type OtlpEncoding } from '../../otlp/response.js';
import { exportFailureStatus } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { Counter, Registry } from '../../shared/metrics.js';
import type { OtlpReceiverConfig } from './config.js';
import { enforceLimits, enforceLogLimits } from './limits.js';
import { RequestError } from './request.js';
import { splitProtobufByTrace } from './split-protobuf.js';

export interface ExportResult {
  /** Spans or log records refused (partial success). */
  rejected: number;
  rejectionReason: string;
}

/** No pipeline takes this signal: its path answers 404, its gRPC service is not served. */
export class NoPipelineError extends Error {
  constructor(signal: Signal) {
    super(`no ${signal} pipeline: add one with the otlp receiver to service.pipelines (${signal}/ingest)`);
    this.name = 'NoPipelineError';
  }
}

const ITEMS: Record<Signal, string> = { traces: 'spans', logs: 'log records' };

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

export class OtlpExport {
  private inflightBytes = 0;
  private readonly accepted;
  private readonly rejected;
  private readonly exportSeconds;
  private readonly decodePath;
  private readonly inflight;

  constructor(
    private readonly config: OtlpReceiverConfig,
    /** Data older than this is refused: ClickHouse's TTL would delete it at once. */
    private readonly retentionDays: number,
    private readonly next: SignalConsumers,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.accepted = {
      traces: registry.counter('tracehouse_receiver_accepted_spans_total', 'Spans acknowledged to clients.'),
      logs: registry.counter('tracehouse_receiver_accepted_log_records_total', 'Log records acknowledged to clients.'),
    };
    this.rejected = {
      traces: registry.counter('tracehouse_receiver_rejected_spans_total', 'Spans not accepted, by reason.'),
      logs: registry.counter('tracehouse_receiver_rejected_log_records_total', 'Log records not accepted, by reason.'),
    };
    this.exportSeconds = registry.histogram('tracehouse_receiver_export_seconds', 'Time from decoded request to durable export, by signal.');
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

  /** Whether a pipeline takes this signal. */
  serves(signal: Signal): boolean {
    return this.next[signal] !== undefined;
  }

  /** Resolves once the pipelines hold the accepted data durably. */
  export(signal: Signal, encoding: OtlpEncoding, body: Buffer, tenant: string | undefined): Promise<ExportResult> {
    return signal === 'traces' ? this.exportTraces(encoding, body, tenant) : this.exportLogs(encoding, body, tenant);
  }

  private async exportLogs(encoding: OtlpEncoding, body: Buffer, tenant: string | undefined): Promise<ExportResult> {
    const next = this.next.logs;
    if (next === undefined) throw new NoPipelineError('logs');
    const received = decodeLogs(encoding, body);
    this.checkCount('logs', received.recordCount + received.rejectedRecords, this.config.limits.maxLogRecordsPerRequest);
    const decoded = enforceLogLimits(received, this.config.limits, this.retentionDays);
    this.noteRejected('logs', decoded.rejectedRecords, decoded.rejectionReason);
    if (decoded.recordCount > 0) await this.timed('logs', decoded.recordCount, () => next.consumeLogs(decoded.data, { tenant }));
    return { rejected: decoded.rejectedRecords, rejectionReason: decoded.rejectionReason };
  }

  private async exportTraces(encoding: OtlpEncoding, body: Buffer, tenant: string | undefined): Promise<ExportResult> {
    const next = this.next.traces;
    if (next === undefined) throw new NoPipelineError('traces');
    const { limits } = this.config;
    // Protobuf to a chain that takes per-trace messages as they are: split without decoding spans, unless the request needs the decoding path.
    const encoded = encoding === 'protobuf' ? next.encoded : undefined;
    const tenancy = encoded?.tenancy;
    const fast = encoded && tenancy ? splitProtobufByTrace(body, { limits, retentionDays: this.retentionDays, tenancy, tenant, maxMessageBytes: encoded.maxTraceBytes }) : null;
    if (encoding === 'protobuf') this.decodePath.inc({ path: fast === null ? 'decode' : 'split' });
    if (encoded && fast !== null) {
      const spanCount = fast.reduce((n, t) => n + t.spans, 0);
      this.checkCount('traces', spanCount, limits.maxSpansPerRequest);
      if (spanCount > 0) await this.timed('traces', spanCount, () => encoded.consume(fast));
      return { rejected: 0, rejectionReason: '' };
    }
    const received = decodeTraces(encoding, body);
    this.checkCount('traces', received.spanCount + received.rejectedSpans, limits.maxSpansPerRequest);
    const decoded = enforceLimits(received, limits, this.retentionDays);
    this.noteRejected('traces', decoded.rejectedSpans, decoded.rejectionReason);
    if (decoded.spanCount > 0) await this.timed('traces', decoded.spanCount, () => next.consumeTraces(decoded.data, { tenant }));
    return { rejected: decoded.rejectedSpans, rejectionReason: decoded.rejectionReason };
  }

  private noteRejected(signal: Signal, count: number, reason: string): void {
    if (count === 0) return;
    this.rejected[signal].inc({ reason: 'invalid' }, count);
    this.log.warn(`${ITEMS[signal]} rejected`, { rejected: count, reason });
  }

  /** The one answer to a failed request, counted and logged; unknown errors are 500 / INTERNAL. */
  refusal(err: unknown, encoding: OtlpEncoding | null, signal: Signal): Refusal {
    const refusal = this.classify(err, encoding, this.rejected[signal]);
    if (refusal.httpStatus === 500) this.log.error('otlp request failed', { signal, err });
    else this.log.warn('otlp request refused', { signal, status: refusal.httpStatus, reason: refusal.message });
    return refusal;
  }

  private classify(err: unknown, encoding: OtlpEncoding | null, rejected: Counter): Refusal {
    if (err instanceof NoPipelineError) return { httpStatus: 404, rpcCode: RpcCode.UNIMPLEMENTED, message: err.message };
    if (err instanceof Backpressure) {
      rejected.inc({ reason: 'backpressure' });
      return { httpStatus: 503, rpcCode: RpcCode.UNAVAILABLE, message: 'receiver is at its in-flight limit; retry later', retryAfterSeconds: 1 };
    }
    if (err instanceof RequestError) {
      if (err.status === 413) rejected.inc({ reason: 'too_large' });
      const rpcCode = err.status === 413 ? RpcCode.RESOURCE_EXHAUSTED : err.status === 401 ? RpcCode.UNAUTHENTICATED : RpcCode.INVALID_ARGUMENT;
      return { httpStatus: err.status, rpcCode, message: err.message };
    }
    if (err instanceof OtlpDecodeError) {
      rejected.inc({ reason: 'undecodable' });
      return { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: `cannot decode OTLP ${encoding}: ${err.message}` };
    }
    const failure = exportFailureStatus(err);
    if (failure === undefined) return { httpStatus: 500, rpcCode: RpcCode.INTERNAL, message: 'internal error' };
    const message = (err as Error).message;
    if (failure.status === 503) {
      rejected.inc({ reason: 'unavailable' });
      return { httpStatus: 503, rpcCode: RpcCode.UNAVAILABLE, message, retryAfterSeconds: failure.retryAfterSeconds ?? 1 };
    }
    rejected.inc({ reason: failure.status === 413 ? 'too_large' : 'rejected' });
    return { httpStatus: failure.status, rpcCode: failure.status === 413 ? RpcCode.RESOURCE_EXHAUSTED : RpcCode.INVALID_ARGUMENT, message };
  }

  private checkCount(signal: Signal, total: number, max: number): void {
    if (total > max) throw new RequestError(413, `${total} ${ITEMS[signal]} in one request; the limit is ${max}`);
  }

  private async timed(signal: Signal, count: number, run: () => Promise<void>): Promise<void> {
    const started = performance.now();
    await run();
    this.exportSeconds.observe({ signal }, (performance.now() - started) / 1000);
    this.accepted[signal].inc({}, count);
  }
}
