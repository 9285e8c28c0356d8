// Which errors mean "this data can never be inserted" (dead-letter it: ClickHouse rejected it, or the
// row encoder could not write it) as opposed to "not now" (retry with backoff: server down, too many
// parts, memory, timeouts).
import { ClickHouseError } from '@clickhouse/client';
import { RowEncodingError } from './row-binary.js';

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

export function isDataError(err: unknown): boolean {
  if (err instanceof RowEncodingError) return true;
  const code = clickhouseErrorCode(err);
  return Number.isInteger(code) && DATA_ERROR_CODES.has(code);
}
