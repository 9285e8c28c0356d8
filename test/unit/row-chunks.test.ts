// Rows encoded message by message (ColumnChunks) and joined into one Native block at INSERT time
// must be the very block the same rows encode to in one go: every offsets stream (maps, Nested
// events and links, maps inside them) continued across chunks, every other column back to back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RowEncodingError } from '../../services/exporters/clickhouse/binary-writer.js';
import { eventRows, logRows, spanRows } from '../../services/exporters/clickhouse/row-format.js';
import { encodedRows } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { type NormalizedRows, Normalizer, mergeRows, rowCount } from '../../services/processors/genai/rows.js';
import { generate, generateLogs, kv } from '../harness/generated-traces.js';

const normalizer = new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 1 << 20, noContentTenants: [], prices: [] });

/** Messages of generated traces, some spans given links and more events (empty maps and arrays included). */
function messages(): NormalizedRows[] {
  const traces = generate(12, 7);
  for (const [t, data] of traces.entries()) {
    for (const [i, s] of data.resourceSpans[0]!.scopeSpans[0]!.spans.entries()) {
      if ((t + i) % 3 === 0) s.links = [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: 'k=v', attributes: [kv('é', 'x'.repeat(300))], droppedAttributesCount: 1, flags: 1 }];
      if ((t + i) % 4 === 0) s.events.push({ timeUnixNano: s.startTimeUnixNano, name: 'exception', attributes: [], droppedAttributesCount: 0 });
    }
  }
  const logs = generateLogs(5, 3).map((d) => normalizer.normalizeLogs(d));
  return [...traces.map((d) => normalizer.normalize(d)), { spans: [], events: [], logs: [] }, ...logs];
}

describe('column chunks', () => {
  it('joined, are byte for byte the block of all their rows encoded at once', () => {
    const parts = messages();
    const all = mergeRows(parts);
    assert.ok(all.spans.some((s) => s.links.length > 0) && all.spans.some((s) => s.events.length > 1) && all.logs.length > 0 && all.events.length > 0);
    const joined = encodedRows.merge(parts.map((m) => encodedRows.prepare(m)));
    assert.equal(joined.rows, rowCount(all));
    assert.ok(rowCount(all) > all.spans.length + all.events.length + all.logs.length, 'a span weighs its nested events too');
    assert.equal(joined.spans.length, parts.filter((m) => m.spans.length > 0).length, 'one chunk per message that has spans');
    assert.deepEqual(spanRows.body(joined.spans).body, spanRows.body([spanRows.chunk(all.spans)]).body);
    assert.deepEqual(eventRows.body(joined.events).body, eventRows.body([eventRows.chunk(all.events)]).body);
    assert.deepEqual(logRows.body(joined.logs).body, logRows.body([logRows.chunk(all.logs)]).body);
  });

  it('encode a map many rows share (their resource\'s, their scope\'s) as each row\'s own copy of it', () => {
    const spans = Array.from({ length: 10 }, () => mergeRows(messages()).spans).flat();
    assert.ok(spans[0]!.resource_attributes === spans[1]!.resource_attributes && Object.keys(spans[0]!.resource_attributes).length > 0, 'rows share their resource map');
    const copy = (m: Record<string, string>): Record<string, string> => ({ ...m });
    const copies = spans.map((s) => ({
      ...s,
      resource_attributes: copy(s.resource_attributes),
      resource_attribute_types: copy(s.resource_attribute_types),
      scope_attributes: copy(s.scope_attributes),
      scope_attribute_types: copy(s.scope_attribute_types),
      attribute_types: copy(s.attribute_types),
      events: s.events.map((e) => ({ ...e, attributes: copy(e.attributes), attribute_types: copy(e.attribute_types) })),
    }));
    const expected = spanRows.body([spanRows.chunk(copies)]).body;
    assert.deepEqual(spanRows.body([spanRows.chunk(spans)]).body, expected);
    // Cut inside a resource's rows: the second chunk does not point back into the first.
    const cut = 3;
    assert.deepEqual(spanRows.body([spanRows.chunk(spans.slice(0, cut)), spanRows.chunk(spans.slice(cut))]).body, expected);
  });

  it('keep their bytes while the writers go on, past the end of their arenas', () => {
    const parts = messages();
    const chunk = spanRows.chunk(parts[0]!.spans);
    const block = Buffer.from(spanRows.body([chunk]).body);
    for (let i = 0; i < 300; i++) for (const m of parts) if (m.spans.length > 0) spanRows.chunk(m.spans);
    const now = spanRows.chunk(parts[0]!.spans);
    const moved = chunk.arenas.filter((a, i) => chunk.bounds[2 * i] !== chunk.bounds[2 * i + 1] && now.arenas[i] !== a).length;
    assert.equal(moved, chunk.arenas.filter((_, i) => chunk.bounds[2 * i] !== chunk.bounds[2 * i + 1]).length, 'every part written to has left its arena');
    assert.deepEqual(spanRows.body([chunk]).body, block);
  });

  it('leave nothing of a message whose rows cannot be encoded', () => {
    const [first, second, third] = messages();
    const before = spanRows.chunk(first!.spans);
    const bad = second!.spans.map((s, i) => (i === second!.spans.length - 1 ? { ...s, cost_usd: 1e9 } : s));
    assert.throws(() => spanRows.chunk(bad), RowEncodingError);
    const after = spanRows.chunk(third!.spans);
    assert.deepEqual(spanRows.body([before, after]).body, spanRows.body([spanRows.chunk([...first!.spans, ...third!.spans])]).body);
  });

  it('carry the newest span start per tenant for the freshness gauge', () => {
    const parts = messages();
    const joined = encodedRows.merge(parts.map((m) => encodedRows.prepare(m)));
    const newest = new Map<string, bigint>();
    for (const [tenant, ns] of joined.newest) if ((newest.get(tenant) ?? -1n) < ns) newest.set(tenant, ns);
    const expected = new Map<string, bigint>();
    for (const s of mergeRows(parts).spans) if ((expected.get(s.tenant_id) ?? -1n) < s.start_ts) expected.set(s.tenant_id, s.start_ts);
    assert.deepEqual(newest, expected);
  });
});
