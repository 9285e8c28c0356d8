// Insert bodies for spans_raw, events_raw and logs_raw in ClickHouse's Native format: one block per
// INSERT, column after column (name, type, then every row's value), maps as offsets + keys + values
// and arrays as offsets + elements, as the server holds them in memory. Inserting the same 300k
// bench spans as server-made RowBinary and Native bodies, the server spent 1.8-2.5 and 1.2-1.8 CPU s
// per 100k spans. String columns go as String and the server makes them LowCardinality: as cheap,
// in the same measurement, as sending the dictionaries.
//
// Rows are encoded as soon as they are made, a message's rows into one ColumnChunk (each column's
// bytes left where its writer wrote them, after the previous message's), and a batch's chunks are
// joined into the block when it is inserted, offset streams rebased. A batch waiting seconds for
// its INSERT is then bytes, not objects: decoding, normalizing and encoding 600k bench spans cost
// 2.0 CPU s per 100k while 1k-10k spans of rows were held, 2.4 with 100k held and 3.8 with 300k,
// the difference being the garbage collector.
//
// Rows are walked once, each field read by name from a row of one shape, and every value appended
// to its column's buffer. A loop per column, reading the field through a getter or by key, encoded
// 62-82k spans/s against 235k this way (those reads see every column's field); fresh column buffers
// per body, 103k with a fifth of the time in GC, so they are kept from chunk to chunk.
import type { EventRow, EventUsage, LogRow, NestedEvent, NestedLink, SpanRow } from '../../processors/genai/rows.js';
import type { RawInsert } from '../../shared/clickhouse/client.js';
import { BinaryWriter, copyBytes, viewOf } from './binary-writer.js';

/** What an insert body carries; the table and statement settings are the sink's. */
export type InsertBody = Pick<RawInsert, 'columns' | 'format' | 'body'>;

/**
 * Rows of one table as the columns of a Native block: part i of the table's layout is
 * arenas[i][bounds[2i], bounds[2i+1]). Arenas are shared: the next message's part i usually follows
 * this one's in the same arena.
 */
export interface ColumnChunk {
  rows: number;
  arenas: readonly Buffer[];
  bounds: Uint32Array;
}

type StringMap = Record<string, string>;

/**
 * A column's name, the type the block declares (the server converts to the table's), and its buffers
 * in block order; `offsetStreams[i]` marks part i as an offsets stream (a cumulative UInt64 per row or map),
 * which a joined block continues from the chunk before.
 */
interface Column {
  name: string;
  type: string;
  readonly offsetStreams: readonly boolean[];
  readonly writers: readonly BinaryWriter[];
}

/** Buffers reused by every chunk of a table (encoding is synchronous: one chunk at a time). */
interface Reusable {
  reset(): void;
}

class Scalar implements Column, Reusable {
  readonly w: BinaryWriter;
  readonly offsetStreams = [false];
  constructor(
    readonly name: string,
    readonly type: string,
    bytes = 4096,
  ) {
    this.w = new BinaryWriter(bytes);
  }
  get writers(): BinaryWriter[] {
    return [this.w];
  }
  reset(): void {
    this.w.reset();
  }
}

/** Map(String, String): per map the offset past its entries, then all keys, then all values. */
class MapColumn implements Column, Reusable {
  readonly type: string = 'Map(String, String)';
  readonly offsetStreams = [true, false, false];
  private readonly offsets = new BinaryWriter(4096);
  private readonly keys = new BinaryWriter(4096);
  private readonly values = new BinaryWriter(4096);
  private entries = 0;
  /** The map put last and where its entries are in this chunk: rows of one resource or scope share their maps. */
  private last: StringMap | null = null;
  private readonly lastAt = new Float64Array(5);
  constructor(readonly name: string) {}
  reset(): void {
    this.offsets.reset();
    this.keys.reset();
    this.values.reset();
    this.entries = 0;
    this.last = null;
  }
  put(m: StringMap): void {
    const at = this.lastAt;
    if (m === this.last) {
      this.keys.repeat(at[0]!, at[1]!);
      this.values.repeat(at[2]!, at[3]!);
      this.offsets.uint64((this.entries += at[4]!));
      return;
    }
    const keysFrom = this.keys.length;
    const valuesFrom = this.values.length;
    // for-in, not Object.keys: no array per map per row for the garbage collector.
    let n = 0;
    for (const k in m) {
      this.keys.string(k);
      this.values.string(m[k]!);
      n++;
    }
    this.offsets.uint64((this.entries += n));
    this.last = m;
    at[0] = keysFrom;
    at[1] = this.keys.length;
    at[2] = valuesFrom;
    at[3] = this.values.length;
    at[4] = n;
  }
  get writers(): BinaryWriter[] {
    return [this.offsets, this.keys, this.values];
  }
}

/** Per row the offset past its elements: shared by the subcolumns of one Nested column. */
class Offsets implements Reusable {
  readonly w = new BinaryWriter(4096);
  private count = 0;
  reset(): void {
    this.w.reset();
    this.count = 0;
  }
  end(elements: number): void {
    this.w.uint64((this.count += elements));
  }
}

/** A Nested subcolumn: Array(T) of its element column, after the shared offsets. */
function nested(prefix: string, offsets: Offsets, element: Scalar | MapColumn): Column {
  return { name: `${prefix}.${element.name}`, type: `Array(${element.type})`, offsetStreams: [true, ...element.offsetStreams], writers: [offsets.w, ...element.writers] };
}

const TWO_POW_32 = 4294967296;

/** One table's columns over reused buffers: rows to chunks, chunks to one block. */
class Table<Row> {
  private readonly headers: Buffer[];
  private readonly partCounts: number[];
  /** Every part's writer in block order (a Nested column's offsets appear once per subcolumn). */
  private readonly writers: BinaryWriter[];
  private readonly offsets: boolean[];
  /** Per part, an earlier part written by the same writer (a Nested column's offsets), else -1: rebased once, copied after. */
  private readonly sameAs: Int32Array;
  /** Per part the arena its writer writes in, as the last chunk saw them. */
  private arenas: Buffer[] = [];
  readonly columnNames: string[];

  constructor(
    columns: readonly Column[],
    private readonly buffers: readonly Reusable[],
    private readonly write: (row: Row) => void,
  ) {
    this.columnNames = columns.map((c) => c.name);
    this.headers = columns.map((c) => {
      const w = new BinaryWriter(64);
      w.string(c.name);
      w.string(c.type);
      return Buffer.from(w.bytes());
    });
    this.partCounts = columns.map((c) => c.writers.length);
    this.writers = columns.flatMap((c) => c.writers);
    this.offsets = columns.flatMap((c) => c.offsetStreams);
    this.sameAs = Int32Array.from(this.writers, (w) => this.writers.indexOf(w));
    for (let p = 0; p < this.sameAs.length; p++) if (this.sameAs[p] === p) this.sameAs[p] = -1;
  }

  /** Encodes rows into one chunk: their bytes stay in the writers' arenas, where the next chunk's follow them. */
  chunk(rows: readonly Row[]): ColumnChunk {
    for (const b of this.buffers) b.reset();
    for (const r of rows) this.write(r);
    const writers = this.writers;
    const bounds = new Uint32Array(writers.length * 2);
    let arenas = this.arenas;
    for (let i = 0; i < writers.length; i++) {
      const w = writers[i]!;
      if (w.arena !== arenas[i]) {
        // Chunks keep the array they were given: a new arena gets a new array.
        if (arenas === this.arenas) arenas = arenas.slice();
        arenas[i] = w.arena;
      }
      bounds[2 * i] = w.pieceStart;
      bounds[2 * i + 1] = w.pieceEnd;
    }
    // After all bounds are read: a Nested column's offsets writer is part of each of its subcolumns.
    for (const w of writers) w.take();
    this.arenas = arenas;
    return { rows: rows.length, arenas, bounds };
  }

  /**
   * The chunks' rows, in order, as one Native block. A part's bytes in consecutive chunks are
   * usually adjacent in one arena and go over as one copy; offsets streams are rebased chunk by chunk.
   */
  body(chunks: readonly ColumnChunk[]): InsertBody {
    const parts = this.writers.length;
    const sizes = new Float64Array(parts);
    let rows = 0;
    for (const c of chunks) {
      rows += c.rows;
      for (let p = 0; p < parts; p++) sizes[p] += c.bounds[2 * p + 1]! - c.bounds[2 * p]!;
    }
    const head = new BinaryWriter(16);
    head.varUInt(this.headers.length);
    head.varUInt(rows);
    const cursor = new Float64Array(parts);
    const headerAt: number[] = [];
    let size = head.length;
    for (let i = 0, p = 0; i < this.headers.length; i++) {
      headerAt.push(size);
      size += this.headers[i]!.length;
      for (let k = 0; k < this.partCounts[i]!; k++, p++) {
        cursor[p] = size;
        size += sizes[p]!;
      }
    }
    const out = Buffer.allocUnsafe(size);
    const outView = viewOf(out);
    head.copyTo(out, 0);
    for (const [i, header] of this.headers.entries()) copyBytes(header, 0, header.length, out, headerAt[i]!);
    const base = new Float64Array(parts);
    const runArena: Array<Buffer | undefined> = new Array(parts);
    const runFrom = new Float64Array(parts);
    const runTo = new Float64Array(parts);
    const rebasedAt = new Float64Array(parts);
    const sameAs = this.sameAs;
    for (const c of chunks) {
      for (let p = 0; p < parts; p++) {
        const from = c.bounds[2 * p]!;
        const to = c.bounds[2 * p + 1]!;
        if (from === to) continue;
        const arena = c.arenas[p]!;
        if (this.offsets[p]) {
          const q = sameAs[p]!;
          if (q >= 0) {
            copyBytes(out, rebasedAt[q]!, rebasedAt[q]! + (to - from), out, cursor[p]!);
            base[p] = base[q]!;
          } else {
            rebasedAt[p] = cursor[p]!;
            base[p] = rebase(arena, from, to, base[p]!, outView, cursor[p]!);
          }
          cursor[p] += to - from;
        } else if (arena === runArena[p] && from === runTo[p]) {
          runTo[p] = to;
        } else {
          if (runArena[p]) cursor[p] = copyBytes(runArena[p]!, runFrom[p]!, runTo[p]!, out, cursor[p]!);
          runArena[p] = arena;
          runFrom[p] = from;
          runTo[p] = to;
        }
      }
    }
    for (let p = 0; p < parts; p++) if (runArena[p]) copyBytes(runArena[p]!, runFrom[p]!, runTo[p]!, out, cursor[p]!);
    return { columns: this.columnNames, format: 'Native', body: out };
  }
}

/** Copies an offsets stream source[from, to) to target at `at`, each value moved by `base`; returns the last value written (or base). */
function rebase(source: Buffer, from: number, to: number, base: number, target: DataView, at: number): number {
  let v = base;
  for (let p = from; p < to; p += 8, at += 8) {
    v = base + source.readUInt32LE(p) + source.readUInt32LE(p + 4) * TWO_POW_32;
    target.setUint32(at, v >>> 0, true);
    target.setUint32(at + 4, Math.floor(v / TWO_POW_32), true);
  }
  return v;
}

function spanColumns() {
  const str = (name: string): Scalar => new Scalar(name, 'String');
  const u32 = (name: string): Scalar => new Scalar(name, 'UInt32');
  const u64 = (name: string): Scalar => new Scalar(name, 'UInt64');
  const map = (name: string): MapColumn => new MapColumn(name);
  return {
    tenant_id: str('tenant_id'),
    env: str('env'),
    trace_id: str('trace_id'),
    span_id: str('span_id'),
    parent_span_id: str('parent_span_id'),
    trace_state: str('trace_state'),
    service_name: str('service_name'),
    operation: str('operation'),
    span_kind: str('span_kind'),
    status_code: str('status_code'),
    status_message: str('status_message'),
    start_ts: new Scalar('start_ts', 'DateTime64(9)'),
    end_ts: new Scalar('end_ts', 'DateTime64(9)'),
    duration_ms: new Scalar('duration_ms', 'Float64'),
    resource_attributes: map('resource_attributes'),
    attributes: map('attributes'),
    scope_name: str('scope_name'),
    scope_version: str('scope_version'),
    events_count: u32('events_count'),
    links_count: u32('links_count'),
    gen_ai_operation: str('gen_ai_operation'),
    agent_name: str('agent_name'),
    provider: str('provider'),
    model: str('model'),
    request_model: str('request_model'),
    tool_name: str('tool_name'),
    tokens_prompt: u64('tokens_prompt'),
    tokens_completion: u64('tokens_completion'),
    tokens_cache_read: u64('tokens_cache_read'),
    tokens_cache_write: u64('tokens_cache_write'),
    tokens_reasoning: u64('tokens_reasoning'),
    tokens_total: u64('tokens_total'),
    cost_usd: new Scalar('cost_usd', 'Decimal(18, 10)'),
    cost_source: str('cost_source'),
    price_version: str('price_version'),
    user_id: str('user_id'),
    session_id: str('session_id'),
    workflow_id: str('workflow_id'),
    error_type: str('error_type'),
    content_truncated: new Scalar('content_truncated', 'UInt8'),
    content_dropped: new Scalar('content_dropped', 'UInt8'),
    normalizer_version: new Scalar('normalizer_version', 'UInt16'),
    trace_flags: u32('trace_flags'),
    dropped_attributes_count: u32('dropped_attributes_count'),
    dropped_events_count: u32('dropped_events_count'),
    dropped_links_count: u32('dropped_links_count'),
    attribute_types: map('attribute_types'),
    resource_attribute_types: map('resource_attribute_types'),
    resource_dropped_attributes_count: u32('resource_dropped_attributes_count'),
    resource_schema_url: str('resource_schema_url'),
    scope_attributes: map('scope_attributes'),
    scope_attribute_types: map('scope_attribute_types'),
    scope_dropped_attributes_count: u32('scope_dropped_attributes_count'),
    scope_schema_url: str('scope_schema_url'),
  };
}

/** An event's own usage, in events_raw's columns and nested in spans_raw's (events.*). */
function usageColumns() {
  const u64 = (name: string): Scalar => new Scalar(name, 'UInt64');
  return {
    model: new Scalar('model', 'String'),
    tool_name: new Scalar('tool_name', 'String'),
    tokens_prompt: u64('tokens_prompt'),
    tokens_completion: u64('tokens_completion'),
    tokens_total: u64('tokens_total'),
    cost_usd: new Scalar('cost_usd', 'Decimal(18, 10)'),
  };
}

function writeUsage(c: ReturnType<typeof usageColumns>, u: EventUsage, costColumn: string): void {
  c.model.w.string(u.model);
  c.tool_name.w.string(u.tool_name);
  c.tokens_prompt.w.uint64(u.tokens_prompt);
  c.tokens_completion.w.uint64(u.tokens_completion);
  c.tokens_total.w.uint64(u.tokens_total);
  c.cost_usd.w.decimal18x10(u.cost_usd, costColumn);
}

function eventColumns() {
  return {
    time: new Scalar('time', 'DateTime64(9)'),
    name: new Scalar('name', 'String'),
    attributes: new MapColumn('attributes'),
    attribute_types: new MapColumn('attribute_types'),
    dropped_attributes_count: new Scalar('dropped_attributes_count', 'UInt32'),
    ...usageColumns(),
  };
}

function linkColumns() {
  const str = (name: string): Scalar => new Scalar(name, 'String');
  return { trace_id: str('trace_id'), span_id: str('span_id'), trace_state: str('trace_state'), attributes: new MapColumn('attributes'), attribute_types: new MapColumn('attribute_types'), dropped_attributes_count: new Scalar('dropped_attributes_count', 'UInt32'), flags: new Scalar('flags', 'UInt32') };
}

function writeEvent(c: ReturnType<typeof eventColumns>, e: NestedEvent): void {
  c.time.w.int64(e.time);
  c.name.w.string(e.name);
  c.attributes.put(e.attributes);
  c.attribute_types.put(e.attribute_types);
  c.dropped_attributes_count.w.uint32(e.dropped_attributes_count);
  writeUsage(c, e, 'events.cost_usd');
}

function writeLink(c: ReturnType<typeof linkColumns>, l: NestedLink): void {
  c.trace_id.w.string(l.trace_id);
  c.span_id.w.string(l.span_id);
  c.trace_state.w.string(l.trace_state);
  c.attributes.put(l.attributes);
  c.attribute_types.put(l.attribute_types);
  c.dropped_attributes_count.w.uint32(l.dropped_attributes_count);
  c.flags.w.uint32(l.flags);
}

function writeSpan(c: ReturnType<typeof spanColumns>, r: SpanRow): void {
  c.tenant_id.w.string(r.tenant_id);
  c.env.w.string(r.env);
  c.trace_id.w.string(r.trace_id);
  c.span_id.w.string(r.span_id);
  c.parent_span_id.w.string(r.parent_span_id);
  c.trace_state.w.string(r.trace_state);
  c.service_name.w.string(r.service_name);
  c.operation.w.string(r.operation);
  c.span_kind.w.string(r.span_kind);
  c.status_code.w.string(r.status_code);
  c.status_message.w.string(r.status_message);
  c.start_ts.w.int64(r.start_ts);
  c.end_ts.w.int64(r.end_ts);
  c.duration_ms.w.float64(r.duration_ms);
  c.resource_attributes.put(r.resource_attributes);
  c.attributes.put(r.attributes);
  c.scope_name.w.string(r.scope_name);
  c.scope_version.w.string(r.scope_version);
  c.events_count.w.uint32(r.events_count);
  c.links_count.w.uint32(r.links_count);
  c.gen_ai_operation.w.string(r.gen_ai_operation);
  c.agent_name.w.string(r.agent_name);
  c.provider.w.string(r.provider);
  c.model.w.string(r.model);
  c.request_model.w.string(r.request_model);
  c.tool_name.w.string(r.tool_name);
  c.tokens_prompt.w.uint64(r.tokens_prompt);
  c.tokens_completion.w.uint64(r.tokens_completion);
  c.tokens_cache_read.w.uint64(r.tokens_cache_read);
  c.tokens_cache_write.w.uint64(r.tokens_cache_write);
  c.tokens_reasoning.w.uint64(r.tokens_reasoning);
  c.tokens_total.w.uint64(r.tokens_total);
  c.cost_usd.w.decimal18x10(r.cost_usd, 'cost_usd');
  c.cost_source.w.string(r.cost_source);
  c.price_version.w.string(r.price_version);
  c.user_id.w.string(r.user_id);
  c.session_id.w.string(r.session_id);
  c.workflow_id.w.string(r.workflow_id);
  c.error_type.w.string(r.error_type);
  c.content_truncated.w.uint8(r.content_truncated);
  c.content_dropped.w.uint8(r.content_dropped);
  c.normalizer_version.w.uint16(r.normalizer_version);
  c.trace_flags.w.uint32(r.trace_flags);
  c.dropped_attributes_count.w.uint32(r.dropped_attributes_count);
  c.dropped_events_count.w.uint32(r.dropped_events_count);
  c.dropped_links_count.w.uint32(r.dropped_links_count);
  c.attribute_types.put(r.attribute_types);
  c.resource_attribute_types.put(r.resource_attribute_types);
  c.resource_dropped_attributes_count.w.uint32(r.resource_dropped_attributes_count);
  c.resource_schema_url.w.string(r.resource_schema_url);
  c.scope_attributes.put(r.scope_attributes);
  c.scope_attribute_types.put(r.scope_attribute_types);
  c.scope_dropped_attributes_count.w.uint32(r.scope_dropped_attributes_count);
  c.scope_schema_url.w.string(r.scope_schema_url);
}

function spanTable(): Table<SpanRow> {
  const spans = spanColumns();
  const events = eventColumns();
  const links = linkColumns();
  const eventOffsets = new Offsets();
  const linkOffsets = new Offsets();
  const columns: Column[] = [...Object.values(spans), ...Object.values(events).map((e) => nested('events', eventOffsets, e)), ...Object.values(links).map((l) => nested('links', linkOffsets, l))];
  const buffers: Reusable[] = [...Object.values(spans), ...Object.values(events), ...Object.values(links), eventOffsets, linkOffsets];
  return new Table<SpanRow>(columns, buffers, (r) => {
    writeSpan(spans, r);
    eventOffsets.end(r.events.length);
    for (const e of r.events) writeEvent(events, e);
    linkOffsets.end(r.links.length);
    for (const l of r.links) writeLink(links, l);
  });
}

function eventRowColumns() {
  const str = (name: string): Scalar => new Scalar(name, 'String');
  return {
    event_ts: new Scalar('event_ts', 'DateTime64(9)'),
    event_type: str('event_type'),
    tenant_id: str('tenant_id'),
    env: str('env'),
    service_name: str('service_name'),
    trace_id: str('trace_id'),
    span_id: str('span_id'),
    operation: str('operation'),
    payload_json: str('payload_json'),
    ...usageColumns(),
    normalizer_version: new Scalar('normalizer_version', 'UInt16'),
  };
}

function eventTable(): Table<EventRow> {
  const c = eventRowColumns();
  return new Table<EventRow>(Object.values(c), Object.values(c), (r) => {
    c.event_ts.w.int64(r.event_ts);
    c.event_type.w.string(r.event_type);
    c.tenant_id.w.string(r.tenant_id);
    c.env.w.string(r.env);
    c.service_name.w.string(r.service_name);
    c.trace_id.w.string(r.trace_id);
    c.span_id.w.string(r.span_id);
    c.operation.w.string(r.operation);
    c.payload_json.w.string(r.payload_json);
    writeUsage(c, r, 'cost_usd');
    c.normalizer_version.w.uint16(r.normalizer_version);
  });
}

function logRowColumns() {
  const str = (name: string): Scalar => new Scalar(name, 'String');
  const u32 = (name: string): Scalar => new Scalar(name, 'UInt32');
  const map = (name: string): MapColumn => new MapColumn(name);
  return {
    tenant_id: str('tenant_id'),
    env: str('env'),
    service_name: str('service_name'),
    timestamp: new Scalar('timestamp', 'DateTime64(9)'),
    observed_timestamp: new Scalar('observed_timestamp', 'DateTime64(9)'),
    severity_number: new Scalar('severity_number', 'UInt8'),
    severity_text: str('severity_text'),
    body: str('body'),
    body_type: str('body_type'),
    event_name: str('event_name'),
    trace_id: str('trace_id'),
    span_id: str('span_id'),
    trace_flags: u32('trace_flags'),
    attributes: map('attributes'),
    attribute_types: map('attribute_types'),
    dropped_attributes_count: u32('dropped_attributes_count'),
    resource_attributes: map('resource_attributes'),
    resource_attribute_types: map('resource_attribute_types'),
    resource_schema_url: str('resource_schema_url'),
    scope_name: str('scope_name'),
    scope_version: str('scope_version'),
    scope_attributes: map('scope_attributes'),
    scope_schema_url: str('scope_schema_url'),
    content_truncated: new Scalar('content_truncated', 'UInt8'),
    content_dropped: new Scalar('content_dropped', 'UInt8'),
    normalizer_version: new Scalar('normalizer_version', 'UInt16'),
  };
}

function logTable(): Table<LogRow> {
  const c = logRowColumns();
  return new Table<LogRow>(Object.values(c), Object.values(c), (r) => {
    c.tenant_id.w.string(r.tenant_id);
    c.env.w.string(r.env);
    c.service_name.w.string(r.service_name);
    c.timestamp.w.int64(r.timestamp);
    c.observed_timestamp.w.int64(r.observed_timestamp);
    c.severity_number.w.uint8(r.severity_number);
    c.severity_text.w.string(r.severity_text);
    c.body.w.string(r.body);
    c.body_type.w.string(r.body_type);
    c.event_name.w.string(r.event_name);
    c.trace_id.w.string(r.trace_id);
    c.span_id.w.string(r.span_id);
    c.trace_flags.w.uint32(r.trace_flags);
    c.attributes.put(r.attributes);
    c.attribute_types.put(r.attribute_types);
    c.dropped_attributes_count.w.uint32(r.dropped_attributes_count);
    c.resource_attributes.put(r.resource_attributes);
    c.resource_attribute_types.put(r.resource_attribute_types);
    c.resource_schema_url.w.string(r.resource_schema_url);
    c.scope_name.w.string(r.scope_name);
    c.scope_version.w.string(r.scope_version);
    c.scope_attributes.put(r.scope_attributes);
    c.scope_schema_url.w.string(r.scope_schema_url);
    c.content_truncated.w.uint8(r.content_truncated);
    c.content_dropped.w.uint8(r.content_dropped);
    c.normalizer_version.w.uint16(r.normalizer_version);
  });
}

// One per table: encoding is synchronous, so one set of column buffers serves every chunk.
export const spanRows = spanTable();
export const eventRows = eventTable();
export const logRows = logTable();

/** The column lists of each body, in block order (for tests that read every column back). */
export const SPAN_COLUMNS = spanRows.columnNames;
export const EVENT_COLUMNS = eventRows.columnNames;
export const LOG_COLUMNS = logRows.columnNames;
