// The exactly-once protocol's stored formats: the dedup token ClickHouse keeps and the pending
// marker Kafka keeps as commit metadata. Both must read back the same across versions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dedupToken, parsePending, pendingMetadata } from '../../services/receivers/kafka/partition-batches.js';

describe('batch state formats', () => {
  it('the dedup token names topic, partition and the offset range', () => {
    assert.equal(dedupToken('otel-spans', 2, { first: 100n, last: 149n }), 'otel-spans:2:100-149');
    assert.equal(dedupToken('t', 0, { first: 9_007_199_254_740_993n, last: 9_007_199_254_740_993n }), 't:0:9007199254740993-9007199254740993', 'offsets past 2^53 stay exact');
  });

  it('a pending marker round-trips; other commit metadata is no marker', () => {
    const range = { first: 271n, last: 286n };
    assert.equal(pendingMetadata(range), 'tracehouse:pending:271-286');
    assert.deepEqual(parsePending(pendingMetadata(range)), range);
    for (const other of [null, undefined, '', 'tracehouse:pending:271', 'tracehouse:pending:a-b', 'x tracehouse:pending:1-2', 'tracehouse:pending:1-2 ']) assert.equal(parsePending(other), null, String(other));
  });
});
