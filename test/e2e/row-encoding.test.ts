// Insert bodies on the real engine: every column of spans_raw and events_raw reads back exactly as
// the row held it (multi-byte text, quotes and control characters, strings longer than a one-byte
// length, nanosecond timestamps, 10-decimal costs, large token counts, empty maps); a cost that no
// Decimal(18, 10) holds is a data error; statement settings (the dedup token) do not outlive the INSERT.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clickhouseEnv } from '../harness/pipeline.js';
import { type ClickHouseHandle, openClickHouse } from '../../services/shared/clickhouse/client.js';
import { isPermanent } from '../../services/shared/errors.js';
import { migrate } from '../../services/shared/clickhouse/migrate.js';
import { EVENT_COLUMNS, SPAN_COLUMNS } from '../../services/exporters/clickhouse/row-format.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { type EventRow, type NormalizedRows, type SpanRow, Normalizer } from '../../services/processors/genai/rows.js';
import { emptyResource, emptyScope, emptySpan } from '../../services/otlp/model.js';
import { kv } from '../harness/generated-traces.js';

const DB = 'row_encoding_test';
const TRICKY = 'é ü 日本語 😀 "quoted" \'single\' back\\slash tab\tnew\nline nul\u0000 [1,2] {"a":1}';
const LONG = 'x'.repeat(200) + '€'.repeat(50_000);

/** Rows from the normalizer (every field filled), then given the values hardest to encode. */
function trickyRows(): NormalizedRows {
  // Recent (older rows fall to the TTL at once), with all nine sub-second digits set.
  const start = BigInt(Date.now() - 60_000) * 1_000_000n + 123_457n;
  const span = {
    ...emptySpan(),
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    name: 'chat',
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_864_197_532n,
    attributes: [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o'), kv('gen_ai.usage.input_tokens', 10)],
    events: [{ timeUnixNano: start + 500_000_001n, name: 'gen_ai.choice', attributes: [kv('gen_ai.usage.output_tokens', 3)], droppedAttributesCount: 0 }],
  };
  const normalizer = new Normalizer({ tenancy: { tenant: 'default', env: 'unknown' }, contentMaxBytes: 1 << 20, noContentTenants: [], prices: [] });
  const rows = normalizer.normalize({
    resourceSpans: [{ resource: { ...emptyResource(), attributes: [kv('service.name', 'svc')] }, scopeSpans: [{ scope: emptyScope(), spans: [span], schemaUrl: '' }], schemaUrl: '' }],
  });
  assert.equal(rows.spans.length, 1);
  assert.equal(rows.events.length, 0, 'span events are nested in the span row only');
  const base = rows.spans[0]!;
  assert.equal(base.events[0]!.tokens_completion, 3, 'a span event keeps the usage it reported');
  const tricky: SpanRow = {
    ...base,
    tenant_id: 'tenant-é',
    service_name: TRICKY,
    status_message: LONG,
    trace_state: 'k=v,'.repeat(20),
    resource_attributes: { 'service.name': TRICKY, [TRICKY]: LONG, '': '' },
    attributes: { 'gen_ai.request.model': 'gpt-4o', [`key ${TRICKY}`]: TRICKY, long: LONG },
    tokens_prompt: 999_999_999_999,
    tokens_completion: 2 ** 32 + 7,
    tokens_total: 2 ** 32 + 999_999_999_999 + 7,
    cost_usd: 12345.0123456789,
    duration_ms: 1864.197532,
    events_count: 4_000_000_000,
    user_id: TRICKY,
    content_truncated: 1,
    trace_flags: 2 ** 32 - 1,
    dropped_links_count: 3,
    attribute_types: { long: 'int', [TRICKY]: '{"arrayValue":{"values":[{"doubleValue":1.5}]}}' },
    scope_attributes: { [TRICKY]: LONG },
    scope_schema_url: 'https://opentelemetry.io/schemas/1.37.0',
    events: [
      ...base.events,
      { time: 1n, name: TRICKY, attributes: { [TRICKY]: LONG }, attribute_types: { [TRICKY]: 'bool' }, dropped_attributes_count: 2 ** 31, model: TRICKY, tool_name: LONG, tokens_prompt: 2 ** 40, tokens_completion: 2 ** 32 + 1, tokens_total: 2 ** 40 + 2 ** 32 + 1, cost_usd: 1234.5 },
    ],
    links: [
      { trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), trace_state: 'k=v', attributes: { [TRICKY]: LONG }, attribute_types: {}, dropped_attributes_count: 1, flags: 0x301 },
      { trace_id: '01'.repeat(16), span_id: '02'.repeat(8), trace_state: '', attributes: {}, attribute_types: { n: 'int' }, dropped_attributes_count: 0, flags: 0 },
    ],
  };
  const plain: SpanRow = { ...base, span_id: 'c7ad6b7169203332', resource_attributes: {}, attributes: {}, cost_usd: 0.0000000001, end_ts: 9_223_372_036_854_775_807n };
  // events_raw holds GenAI events received as log records: no span name.
  const event: EventRow = {
    event_ts: start + 7n,
    event_type: 'gen_ai.choice',
    tenant_id: 'tenant-é',
    env: 'unknown',
    service_name: TRICKY,
    trace_id: span.traceId,
    span_id: span.spanId,
    operation: '',
    payload_json: `{"text":${JSON.stringify(TRICKY + LONG)}}`,
    model: 'gpt-4o',
    tool_name: TRICKY,
    tokens_prompt: 999_999_999_999,
    tokens_completion: 2 ** 32 + 7,
    tokens_total: 2 ** 40,
    cost_usd: 0.5,
    normalizer_version: base.normalizer_version,
  };
  return { spans: [tricky, plain], events: [event], logs: [] };
}

/** A row's value of a column; a nested column (events.name) is the array of its elements' field. */
function valueOf(row: object, column: string): unknown {
  const [nested, field] = column.split('.');
  if (field === undefined) return (row as Record<string, unknown>)[column];
  return ((row as Record<string, unknown>)[nested!] as Array<Record<string, unknown>>).map((e) => e[field]);
}

/** A row's value as the engine prints it back (selectList): maps as objects, everything else as text, arrays element by element. */
function expected(column: string, v: unknown): unknown {
  // Decimals print without trailing zeros.
  if (column === 'cost_usd') return (v as number).toFixed(10).replace(/\.?0+$/, '');
  if (Array.isArray(v)) return v.map((e: unknown) => (typeof e === 'object' ? e : String(e)));
  return typeof v === 'object' ? v : String(v);
}

function selectList(columns: readonly string[], types: Map<string, string>): string {
  return columns
    .map((c) => {
      const t = types.get(c)!;
      const q = `\`${c}\``;
      if (t.startsWith('Map') || t.startsWith('Array(Map') || t.startsWith('Array(String') || t.startsWith('Array(LowCardinality')) return q;
      if (t.startsWith('Array(DateTime64')) return `arrayMap(x -> toString(toUnixTimestamp64Nano(x)), ${q}) AS ${q}`;
      if (t.startsWith('Array')) return `arrayMap(x -> toString(x), ${q}) AS ${q}`;
      return t.startsWith('DateTime64') ? `toString(toUnixTimestamp64Nano(${q})) AS ${q}` : `toString(${q}) AS ${q}`;
    })
    .join(', ');
}

describe('insert bodies (RowBinary) on the real engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-rows-'));
  let ch: ClickHouseHandle;
  let sink: TelemetrySink;
  const types = new Map<string, string>();

  async function query<T>(sql: string): Promise<T[]> {
    return (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  }

  before(async () => {
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, ...clickhouseEnv(), CLICKHOUSE_DATABASE: DB });
    ch = await openClickHouse(cfg.exporters.clickhouse);
    const log = createLogger('test', 40);
    await migrate(ch.client, cfg.exporters.clickhouse, log);
    sink = new TelemetrySink(ch, DB, new Registry(), log);
    for (const r of await query<{ name: string; type: string }>(`SELECT name, type FROM system.columns WHERE database = '${DB}' AND table IN ('spans_raw', 'events_raw')`)) {
      types.set(r.name, r.type);
    }
  });
  after(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back every column of every row exactly as written', async () => {
    const rows = trickyRows();
    await sink.insert(rows, 'round-trip');
    const spans = await query<Record<string, unknown>>(`SELECT ${selectList(SPAN_COLUMNS, types)} FROM ${DB}.spans_raw ORDER BY span_id`);
    assert.equal(spans.length, 2);
    for (const [i, row] of rows.spans.entries()) {
      for (const c of SPAN_COLUMNS) assert.deepEqual(spans[i]![c], expected(c, valueOf(row, c)), `spans_raw.${c} of row ${i}`);
    }
    const events = await query<Record<string, unknown>>(`SELECT ${selectList(EVENT_COLUMNS, types)} FROM ${DB}.events_raw`);
    assert.equal(events.length, 1);
    for (const c of EVENT_COLUMNS) assert.deepEqual(events[0]![c], expected(c, valueOf(rows.events[0]!, c)), `events_raw.${c}`);
  });

  it('drops a batch inserted again with its token, and the token does not outlive its INSERT', async () => {
    const count = async (): Promise<number> => Number((await query<{ n: string }>(`SELECT count() AS n FROM ${DB}.spans_raw`))[0]!.n);
    const before = await count();
    const rows = trickyRows();
    await sink.insert(rows, 'again');
    await sink.insert(rows, 'again');
    assert.equal(await count(), before + 2, 'the second INSERT with the same token was dropped');
    // Same rows, no token: a leaked token would silently drop this one too.
    await sink.insert(rows);
    assert.equal(await count(), before + 4);
  });

  it('refuses a cost that Decimal(18, 10) cannot hold as a data error, before sending anything', async () => {
    const rows = trickyRows();
    rows.spans[0]!.cost_usd = 1e12;
    await assert.rejects(sink.insert(rows, 'too-costly'), (err: unknown) => isPermanent(err) && /cost_usd/.test((err as Error).message));
  });
});
