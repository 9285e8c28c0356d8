// The one failure taxonomy: what each client library's error becomes, and how a receiver answers it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClickHouseError } from '@clickhouse/client';
import { classifyInsertError } from '../../services/exporters/clickhouse/errors.js';
import { RowEncodingError } from '../../services/exporters/clickhouse/binary-writer.js';
import { PermanentError, RetryableError, causeChain, exportFailureStatus, isPermanent } from '../../services/shared/errors.js';
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } from '../../services/shared/kafka.js';

describe('error taxonomy', () => {
  it('ClickHouse: rejected data and unencodable rows are permanent; server trouble is retryable; the cause is kept', () => {
    const constraint = new ClickHouseError({ message: 'Constraint `cost_usd_non_negative` is violated', code: '469', type: 'VIOLATED_CONSTRAINT' });
    const classified = classifyInsertError(constraint);
    assert.ok(isPermanent(classified));
    assert.equal(classified.message, constraint.message);
    assert.equal(classified.cause, constraint);
    assert.ok(isPermanent(classifyInsertError(new RowEncodingError('cost_usd: not a Decimal'))));
    for (const err of [new ClickHouseError({ message: 'Too many parts', code: '252', type: 'TOO_MANY_PARTS' }), new ClickHouseError({ message: 'Memory limit exceeded', code: '241' }), new Error('connect ECONNREFUSED'), new Error('Timeout error.')]) {
      const c = classifyInsertError(err);
      assert.ok(c instanceof RetryableError && !isPermanent(c), err.message);
    }
  });

  it('finds the library error that says what happened inside its wrappers', () => {
    const tooLarge = new KafkaJSProtocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as unknown as Error);
    // As kafkajs' retrier wraps a non-retriable error (its typings omit the options argument).
    const Wrapper = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: unknown }) => Error;
    const wrapped = new Wrapper(tooLarge, { cause: tooLarge });
    assert.ok([...causeChain(wrapped)].some((e) => e instanceof KafkaJSProtocolError && e.type === 'MESSAGE_TOO_LARGE'));
    assert.deepEqual([...causeChain(new KafkaJSConnectionError('down'))].length, 1);
  });

  it('a receiver answers permanent failures 400 / 413 and retryable ones 503 with Retry-After; anything else is not an export failure', () => {
    assert.deepEqual(exportFailureStatus(new PermanentError('rejected')), { status: 400 });
    assert.deepEqual(exportFailureStatus(new PermanentError('a span is larger than the Kafka message limit', 'too_large')), { status: 413 });
    assert.deepEqual(exportFailureStatus(new RetryableError('kafka produce timed out', 2)), { status: 503, retryAfterSeconds: 2 });
    assert.equal(exportFailureStatus(new TypeError('bug')), undefined);
  });
});
