// The local durable log on a real file system: group-committed appends read back in order across
// segments, a torn or corrupt tail cut off at reopen (and never read), the size cap refusing
// appends for now, commits surviving a reopen and deleting the segments below them.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalLog, LocalLogFullError } from '../../services/shared/local-log.js';
import { isPermanent } from '../../services/shared/errors.js';
import { createLogger } from '../../services/shared/log.js';

const dirs: string[] = [];
const warnings: string[] = [];
const log = { ...createLogger('test', 100), warn: (msg: string) => void warnings.push(msg) } as ReturnType<typeof createLogger>;
const open = (directory: string, opts: { maxBytes?: number; segmentBytes?: number } = {}) => LocalLog.open({ directory, maxBytes: opts.maxBytes ?? 1 << 30, segmentBytes: opts.segmentBytes ?? 1 << 20, log });
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tracehouse-log-'));
  dirs.push(d);
  return d;
};
const value = (i: number): Uint8Array => Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`);

describe('local durable log', () => {
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('appends concurrently and reads every record back in order, across segments', async () => {
    const dir = fresh();
    const l = await open(dir, { segmentBytes: 2000 });
    // 30 rounds of 10 concurrent appends: each round is one group commit, and the segments roll between them.
    for (let round = 0; round < 30; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => round * 10 + j).map((i) => l.append([{ key: i % 3 === 0 ? null : `k${i}`, value: value(i) }])));
    }
    assert.equal(l.durableOffset, 300n);
    assert.ok(readdirSync(dir).filter((n) => n.endsWith('.log')).length > 3, 'rolled into several segments');
    const reader = await l.reader(0n);
    const got = [];
    for (let batch = await reader.next(64); batch.length > 0; batch = await reader.next(64)) got.push(...batch);
    assert.equal(got.length, 300);
    const byValue = new Set(got.map((r) => Buffer.from(r.value).toString()));
    for (let i = 0; i < 300; i++) assert.ok(byValue.has(Buffer.from(value(i)).toString()), `record ${i}`);
    assert.deepEqual(got.map((r) => r.offset), Array.from({ length: 300 }, (_, i) => BigInt(i)));
    assert.equal((await (await l.reader(250n)).next(1000)).length, 50, 'a reader from the middle');
    await l.close();
  });

  it('cuts a torn or corrupt tail at reopen, with a log line, and goes on from the last whole record', async () => {
    for (const damage of ['torn', 'corrupt'] as const) {
      const dir = fresh();
      const l = await open(dir);
      await l.append([{ key: 'a', value: value(1) }, { key: 'b', value: value(2) }, { key: 'c', value: value(3) }]);
      await l.close();
      const segment = join(dir, readdirSync(dir).find((n) => n.endsWith('.log'))!);
      if (damage === 'torn') truncateSync(segment, statSync(segment).size - 3);
      else {
        const bytes = readFileSync(segment);
        bytes[bytes.length - 2] ^= 0xff;
        writeFileSync(segment, bytes);
      }
      warnings.length = 0;
      const again = await open(dir);
      assert.match(warnings.join(), /torn or corrupt tail cut off/);
      assert.equal(again.durableOffset, 2n, `${damage}: the last record is gone, the two before it kept`);
      await again.append([{ key: 'd', value: value(4) }]);
      const records = await (await again.reader(0n)).next(10);
      assert.deepEqual(records.map((r) => r.key?.toString()), ['a', 'b', 'd']);
      await again.close();
    }
  });

  it('refuses appends past the size cap as retryable, and takes them again once committed segments are deleted', async () => {
    const dir = fresh();
    const l = await open(dir, { maxBytes: 6000, segmentBytes: 1000 });
    let refused: unknown;
    try {
      for (let i = 0; i < 1000; i++) await l.append([{ key: 'k', value: Buffer.alloc(200, 1) }]);
    } catch (err) {
      refused = err;
    }
    assert.ok(refused instanceof LocalLogFullError && !isPermanent(refused), String(refused));
    assert.ok(l.sizeBytes <= 6000);
    await l.commit(l.durableOffset, '');
    assert.ok(l.sizeBytes < 1500, `committed segments deleted: ${l.sizeBytes} bytes left`);
    await l.append([{ key: 'k', value: Buffer.alloc(200, 1) }]);
    await l.close();
  });

  it('keeps the committed offset and its metadata across a reopen, and a new log gets a new id', async () => {
    const dir = fresh();
    const l = await open(dir);
    await l.append([{ key: null, value: value(1) }, { key: null, value: value(2) }]);
    await l.commit(1n, 'tracehouse:pending:1-1');
    await l.close();
    const again = await open(dir);
    assert.deepEqual(await again.committed(), { offset: 1n, metadata: 'tracehouse:pending:1-1' });
    assert.equal(again.id, l.id);
    await again.close();
    const other = await open(fresh());
    assert.notEqual(other.id, l.id);
    await other.close();
    appendFileSync(join(dir, 'unrelated.txt'), 'ignored');
  });
});
