// The exactly-once protocol's stored formats: the dedup token ClickHouse keeps and the pending
// marker Kafka keeps as commit metadata. Both must read back the same across versions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dedupToken, parsePending, pendingMetadata } from '../../services/receivers/kafka/partition-batches.js';

describe('batch state formats', () => {
  it('the dedup token names topic, and partition and offset range of each partition of the batch', () => {
    assert.equal(dedupToken('otel-spans', [{ partition: 2, first: 100n, last: 149n }]), 'otel-spans:2:100-149', 'a batch of one partition keeps the token of a batch cut per partition');
    assert.equal(dedupToken('t', [{ partition: 0, first: 9_007_199_254_740_993n, last: 9_007_199_254_740_993n }]), 't:0:9007199254740993-9007199254740993', 'offsets past 2^53 stay exact');
    assert.equal(dedupToken('t', [{ partition: 0, first: 5n, last: 9n }, { partition: 3, first: 0n, last: 0n }]), 't:0:5-9,3:0-0');
  });

  it('a pending marker round-trips from any partition it names; other commit metadata is no marker', () => {
    const ranges = [{ partition: 1, first: 271n, last: 286n }, { partition: 4, first: 7n, last: 9n }];
    assert.equal(pendingMetadata(ranges), 'tracehouse:pending:1:271-286,4:7-9');
    assert.deepEqual(parsePending(pendingMetadata(ranges), 1), ranges);
    assert.deepEqual(parsePending(pendingMetadata(ranges), 4), ranges);
    assert.equal(parsePending(pendingMetadata(ranges), 2), null, 'a marker on a partition it does not name is no marker');
    for (const other of [null, undefined, '', 'tracehouse:pending:271', 'tracehouse:pending:a-b', 'x tracehouse:pending:1-2', 'tracehouse:pending:1-2 ', 'tracehouse:pending:1:1-2,', 'tracehouse:pending:4:1-2,1:3-4', 'tracehouse:pending:1:1-2,1:3-4']) {
      assert.equal(parsePending(other, 1), null, String(other));
    }
  });

  it('a marker of the earlier format (one partition, none named) names a range of the partition holding it', () => {
    assert.deepEqual(parsePending('tracehouse:pending:271-286', 3), [{ partition: 3, first: 271n, last: 286n }]);
  });
});
