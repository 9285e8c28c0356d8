import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BEHIND_DELAY_FACTOR, Batcher } from '../../services/shared/batcher.js';

function recorder(delayMs = 0, failFirst = 0) {
  const flushes: number[][] = [];
  let failures = failFirst;
  let concurrent = 0;
  let maxConcurrent = 0;
  return {
    flushes,
    maxConcurrent: () => maxConcurrent,
    flush: async (items: number[]) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((r) => setTimeout(r, delayMs));
      concurrent--;
      if (failures-- > 0) throw new Error('insert failed');
      flushes.push(items);
    },
  };
}

describe('Batcher', () => {
  it('flushes as soon as the weight limit is reached', async () => {
    const rec = recorder();
    const b = new Batcher<number>({ maxWeight: 3, maxDelayMs: 60_000, weight: () => 1, flush: rec.flush });
    const started = Date.now();
    await b.add([1, 2, 3]);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(rec.flushes, [[1, 2, 3]]);
  });

  it('flushes a partial batch after maxDelayMs', async () => {
    const rec = recorder();
    const b = new Batcher<number>({ maxWeight: 100, maxDelayMs: 80, weight: () => 1, flush: rec.flush });
    const started = Date.now();
    await Promise.all([b.add([1]), b.add([2])]);
    const waited = Date.now() - started;
    assert.ok(waited >= 75 && waited < 1000, `waited ${waited} ms`);
    assert.deepEqual(rec.flushes, [[1, 2]]);
  });

  it('never runs two flushes at once, and keeps order', async () => {
    const rec = recorder(20);
    const b = new Batcher<number>({ maxWeight: 2, maxDelayMs: 10, weight: () => 1, flush: rec.flush });
    await Promise.all([b.add([1, 2]), b.add([3, 4]), b.add([5])]);
    assert.equal(rec.maxConcurrent(), 1);
    assert.deepEqual(rec.flushes.flat(), [1, 2, 3, 4, 5]);
  });

  it('rejects the adds of a failed flush, and only those', async () => {
    const rec = recorder(0, 1);
    const b = new Batcher<number>({ maxWeight: 1, maxDelayMs: 10, weight: () => 1, flush: rec.flush });
    await assert.rejects(b.add([1]), /insert failed/);
    await b.add([2]);
    assert.deepEqual(rec.flushes, [[2]]);
  });

  it('reports its backlog by weight, and flush()/close() drain it', async () => {
    const rec = recorder(30);
    const b = new Batcher<string>({ maxWeight: 100, maxDelayMs: 60_000, weight: (s) => s.length, flush: async (items) => rec.flush(items.map((s) => s.length)) });
    void b.add(['abc', 'de']);
    assert.equal(b.backlog, 5);
    await b.close();
    assert.equal(b.backlog, 0);
    assert.deepEqual(rec.flushes, [[3, 2]]);
    await assert.rejects(b.add(['x']), /closed/);
  });

  it('while behind, waits BEHIND_DELAY_FACTOR times the timeout for its size; on catching up, the timeout holds again', async () => {
    const rec = recorder();
    const b = new Batcher<number>({ maxWeight: 100, maxDelayMs: 40, weight: () => 1, flush: rec.flush });
    b.setBehind(true);
    const started = Date.now();
    await b.add([1]);
    const waited = Date.now() - started;
    assert.ok(waited >= 40 * BEHIND_DELAY_FACTOR - 5 && waited < 40 * BEHIND_DELAY_FACTOR + 1000, `waited ${waited} ms behind`);
    // Caught up with a batch older than the timeout: it leaves at once.
    const second = b.add([2]);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(rec.flushes, [[1]]);
    b.setBehind(false);
    await second;
    assert.deepEqual(rec.flushes, [[1], [2]]);
    // Behind, the size rule is unchanged.
    b.setBehind(true);
    const full = Array.from({ length: 100 }, (_, i) => i);
    const t = Date.now();
    await b.add(full);
    assert.ok(Date.now() - t < 40 * BEHIND_DELAY_FACTOR, 'a full batch does not wait for the clock');
  });

  it('settled() follows the running flush, then the pending batch', async () => {
    const rec = recorder(50);
    const b = new Batcher<number>({ maxWeight: 2, maxDelayMs: 60_000, weight: () => 1, flush: rec.flush });
    void b.add([1, 2]);
    await new Promise((r) => setTimeout(r, 5)); // the batch is cut once its flush starts
    void b.add([3]);
    await b.settled();
    assert.deepEqual(rec.flushes, [[1, 2]]);
    assert.equal(b.backlog, 1);
    await b.close();
    await b.settled();
    assert.deepEqual(rec.flushes, [[1, 2], [3]]);
  });

  it('discards the pending batch on request, rejecting its adds', async () => {
    const rec = recorder();
    const b = new Batcher<number>({ maxWeight: 100, maxDelayMs: 60_000, weight: () => 1, flush: rec.flush });
    const pending = b.add([1, 2]);
    b.discardPending(new Error('reassigned'));
    await assert.rejects(pending, /reassigned/);
    await b.flush();
    assert.deepEqual(rec.flushes, []);
  });
});
