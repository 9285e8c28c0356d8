// An INSERT's failure in the pipeline's taxonomy (../errors.ts): permanent when ClickHouse rejected the
// data or the row encoder could not write it (dead-letter it), retryable otherwise (server down, too
// many parts, memory, timeouts: back off and send the same batch with the same token).
import { ClickHouseError } from '@clickhouse/client';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { RowEncodingError } from './binary-writer.js';

const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
]);

/** The ClickHouse error code of a @clickhouse/client error. */
export function clickhouseErrorCode(err: unknown): number {
  return err instanceof ClickHouseError ? Number(err.code) : Number.NaN;
}

export function classifyInsertError(err: unknown): PermanentError | RetryableError {
  const message = (err as Error).message;
  if (err instanceof RowEncodingError || DATA_ERROR_CODES.has(clickhouseErrorCode(err))) return new PermanentError(message, 'invalid', { cause: err });
  return new RetryableError(message, 1, { cause: err });
}
