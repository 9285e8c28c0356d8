// One failure taxonomy across pipelines, the Collector's consumererror: an error is permanent (this
// data can never be accepted: reject it to the client, dead-letter it, never retry it) or, by
// default, retryable (not now: back off and try again; a client is told 503 / UNAVAILABLE with
// Retry-After). Each exporter classifies its client library's own errors (kafkajs,
// @clickhouse/client) into these at its boundary; everything upstream asks only `isPermanent`.

/** Why data is refused for good: malformed or rejected by the destination, or larger than it takes. */
export type PermanentReason = 'invalid' | 'too_large';

export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly reason: PermanentReason = 'invalid',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    /** What a client is told to wait before it sends again. */
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError;
}

/** `err` and its causes, outermost first (client libraries wrap the error that says what happened). */
export function* causeChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

/** How a receiver answers an export that failed: the OTLP/HTTP status, and Retry-After when retryable. */
export function exportFailureStatus(err: unknown): { status: 400 | 413 | 503; retryAfterSeconds?: number } | undefined {
  if (err instanceof PermanentError) return { status: err.reason === 'too_large' ? 413 : 400 };
  if (err instanceof RetryableError) return { status: 503, retryAfterSeconds: err.retryAfterSeconds };
  return undefined;
}
