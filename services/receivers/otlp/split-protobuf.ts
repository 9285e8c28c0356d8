// Processing stage, fast path for protobuf requests: splits a request into one TracesData per trace
// by copying each span's bytes, without decoding spans into objects and encoding them again. Only
// resources are decoded (their tenant and env are stamped). Every span is still walked field by
// field, to the same depth and with the same checks as the decoder, so the consumer can decode
// whatever this accepts. Anything the decoding path would change or reject (a span over a limit,
// malformed ids, a start outside the accepted window, a message too large, undecodable bytes)
// makes this return null, and the request takes the decoding path: one set of semantics, not two.
import type { IngestLimits } from './config.js';
import type { TenancyDefaults } from '../../otlp/attributes.js';
import { type Resource, emptyResource } from '../../otlp/model.js';
import { MAX_ANY_VALUE_DEPTH, SPAN_WIRE_TYPES, readResource, writeResource } from '../../otlp/protobuf.js';
import { ProtoReader, ProtoWriter, WireType, asBuffer } from '../../otlp/wire.js';
import { stampResource } from '../../processors/attributes.js';
import { acceptedStartWindow, limitResource } from './limits.js';
import type { EncodedTrace } from '../../otlp/split.js';

export interface SplitOptions {
  limits: IngestLimits;
  retentionDays: number;
  tenancy: TenancyDefaults;
  /** The API key's tenant, overriding the resource's. */
  tenant: string | undefined;
  maxMessageBytes: number;
  nowMs?: number;
}

/** Thrown inside the walk when the request must take the decoding path. */
class NeedsDecoding extends Error {}
const NEEDS_DECODING = new NeedsDecoding();

interface ResourceInfo {
  /** ResourceSpans.resource with tenancy stamped, tag included. */
  resource: Uint8Array;
  /** ResourceSpans.schema_url as sent, tag included (may be empty). */
  schemaUrl: Uint8Array;
}

interface ScopeInfo {
  scope: Uint8Array;
  schemaUrl: Uint8Array;
}

/** Consecutive spans of one trace under one resource and scope: [start, end) byte ranges of whole span fields. */
interface Group {
  resource: number;
  scope: number;
  spans: number[];
}

interface TraceParts {
  groups: Group[];
  spans: number;
  bytes: number;
}

const EMPTY = new Uint8Array(0);

export function splitProtobufByTrace(body: Uint8Array, opts: SplitOptions): EncodedTrace[] | null {
  try {
    return split(body, opts);
  } catch (err) {
    // Undecodable bytes included: the decoding path answers them with its own error.
    if (err instanceof NeedsDecoding || (err as Error).name === 'OtlpDecodeError') return null;
    throw err;
  }
}

function split(body: Uint8Array, opts: SplitOptions): EncodedTrace[] | null {
  const splitter = new RequestSplitter(body, opts);
  const r = splitter.r;
  const requestEnd = r.length;
  while (r.next(requestEnd)) {
    if (r.field === 1 && r.wireType === WireType.LEN) splitter.resourceSpans(r.len());
    else r.skip();
  }
  const out: EncodedTrace[] = [];
  for (const [traceId, trace] of splitter.traces) {
    const bytes = encodeTrace(splitter.buf, trace, splitter.resources, splitter.scopes);
    if (bytes.length > opts.maxMessageBytes) return null;
    out.push({ traceId, bytes, spans: trace.spans });
  }
  return out;
}

/** One pass over a request: where each span's bytes are, per trace, and each resource stamped. */
class RequestSplitter {
  readonly r: ProtoReader;
  readonly buf: Buffer;
  readonly resources: ResourceInfo[] = [];
  readonly scopes: ScopeInfo[] = [];
  readonly traces = new Map<string, TraceParts>();
  private readonly walker: SpanWalker;

  constructor(
    body: Uint8Array,
    private readonly opts: SplitOptions,
  ) {
    this.r = new ProtoReader(body);
    this.buf = asBuffer(body);
    this.walker = new SpanWalker(this.r, this.buf, opts.limits, acceptedStartWindow(opts.limits, opts.retentionDays, opts.nowMs ?? Date.now()));
  }

  resourceSpans(end: number): void {
    const r = this.r;
    const info: ResourceInfo = { resource: EMPTY, schemaUrl: EMPTY };
    const rsIndex = this.resources.push(info) - 1;
    // Like the decoder, the last resource field of the message is the one that counts.
    let resource: Resource = emptyResource();
    while (true) {
      const fieldStart = r.pos;
      if (!r.next(end)) break;
      if (r.wireType !== WireType.LEN) r.skip();
      else if (r.field === 1) resource = readResource(r, r.len());
      else if (r.field === 2) this.scopeSpans(r.len(), rsIndex);
      else if (r.field === 3) {
        r.skip();
        info.schemaUrl = this.buf.subarray(fieldStart, r.pos);
      } else r.skip();
    }
    limitResource(resource, this.opts.limits);
    stampResource(resource, this.opts.tenancy, this.opts.tenant);
    const w = new ProtoWriter(256);
    writeResource(w, resource);
    info.resource = w.finish();
  }

  private scopeSpans(end: number, rsIndex: number): void {
    const r = this.r;
    const scope: ScopeInfo = { scope: EMPTY, schemaUrl: EMPTY };
    const ssIndex = this.scopes.push(scope) - 1;
    while (true) {
      const fieldStart = r.pos;
      if (!r.next(end)) break;
      if (r.wireType !== WireType.LEN) r.skip();
      else if (r.field === 1) {
        this.walker.keyValuesAt(r.len(), 3, Infinity, Infinity);
        scope.scope = this.buf.subarray(fieldStart, r.pos);
      } else if (r.field === 2) {
        const spanEnd = r.len();
        const traceStart = this.walker.span(spanEnd);
        this.addSpan(this.buf.toString('hex', traceStart, traceStart + 16), rsIndex, ssIndex, fieldStart, spanEnd);
      } else if (r.field === 3) {
        r.skip();
        scope.schemaUrl = this.buf.subarray(fieldStart, r.pos);
      } else r.skip();
    }
  }

  private addSpan(traceId: string, rsIndex: number, ssIndex: number, start: number, end: number): void {
    let trace = this.traces.get(traceId);
    if (trace === undefined) this.traces.set(traceId, (trace = { groups: [], spans: 0, bytes: 0 }));
    let group = trace.groups[trace.groups.length - 1];
    if (group === undefined || group.resource !== rsIndex || group.scope !== ssIndex) trace.groups.push((group = { resource: rsIndex, scope: ssIndex, spans: [] }));
    group.spans.push(start, end);
    trace.spans++;
    trace.bytes += end - start;
  }
}

function encodeTrace(buf: Buffer, trace: TraceParts, resources: ResourceInfo[], scopes: ScopeInfo[]): Uint8Array {
  const w = new ProtoWriter(trace.bytes + trace.groups.length * 512 + 64);
  const groups = trace.groups;
  for (let i = 0; i < groups.length; ) {
    const rsIndex = groups[i]!.resource;
    const rs = resources[rsIndex]!;
    w.fork(1).raw(rs.resource);
    for (; i < groups.length && groups[i]!.resource === rsIndex; i++) {
      const g = groups[i]!;
      const scope = scopes[g.scope]!;
      w.fork(2).raw(scope.scope);
      for (let s = 0; s < g.spans.length; s += 2) w.raw(buf.subarray(g.spans[s]!, g.spans[s + 1]!));
      w.raw(scope.schemaUrl).join();
    }
    w.raw(rs.schemaUrl).join();
  }
  return w.finish();
}

/** Walks spans and what they hold as the decoder would read them, checking what enforceLimits checks. */
class SpanWalker {
  constructor(
    private readonly r: ProtoReader,
    private readonly buf: Buffer,
    private readonly limits: IngestLimits,
    private readonly window: { earliest: bigint; latest: bigint },
  ) {}

  /** Walks one span ending at `end`; returns the offset of its 16-byte trace id. */
  span(end: number): number {
    const { r, limits } = this;
    let traceStart = -1;
    let traceLen = 0;
    let spanStart = -1;
    let spanLen = 0;
    let parentLen = 0;
    let start = 0n;
    let finish = 0n;
    let attributes = 0;
    let events = 0;
    while (r.next(end)) {
      if (SPAN_WIRE_TYPES[r.field] !== r.wireType) {
        r.skip();
        continue;
      }
      switch (r.field) {
        case 1:
          traceStart = r.skipBytes();
          traceLen = r.pos - traceStart;
          break;
        case 2:
          spanStart = r.skipBytes();
          spanLen = r.pos - spanStart;
          break;
        case 4: {
          const parentStart = r.skipBytes();
          parentLen = r.pos - parentStart;
          break;
        }
        case 7: start = r.fixed64(); break;
        case 8: finish = r.fixed64(); break;
        case 9:
          if (++attributes > limits.maxAttributesPerSpan) throw NEEDS_DECODING;
          this.keyValue(r.len(), limits.maxAttributeValueBytes);
          break;
        case 11:
          if (++events > limits.maxEventsPerSpan) throw NEEDS_DECODING;
          this.keyValuesAt(r.len(), 3, limits.maxAttributesPerSpan, limits.maxAttributeValueBytes);
          break;
        case 13: this.keyValuesAt(r.len(), 4, Infinity, Infinity); break;
        case 15: this.keyValuesAt(r.len(), 0, 0, 0); break;
        default: r.skip();
      }
    }
    // Ids as invalidSpanReason wants them: anything else is rejected by the decoding path.
    if (traceLen !== 16 || this.allZero(traceStart, 16) || spanLen !== 8 || this.allZero(spanStart, 8) || (parentLen !== 0 && parentLen !== 8)) throw NEEDS_DECODING;
    const t = start || finish;
    if (t > this.window.latest || (t !== 0n && t < this.window.earliest)) throw NEEDS_DECODING;
    return traceStart;
  }

  /** A message (scope, event, link, status) whose field `field` holds KeyValues; at most `max` of them, values capped at maxBytes. */
  keyValuesAt(end: number, field: number, max: number, maxBytes: number): void {
    const r = this.r;
    let n = 0;
    while (r.next(end)) {
      if (r.field === field && r.wireType === WireType.LEN) {
        if (++n > max) throw NEEDS_DECODING;
        this.keyValue(r.len(), maxBytes);
      } else r.skip();
    }
  }

  private keyValue(end: number, maxBytes: number): void {
    const r = this.r;
    while (r.next(end)) {
      if (r.field === 2 && r.wireType === WireType.LEN) this.anyValue(r.len(), 0, maxBytes);
      else r.skip();
    }
  }

  /** maxBytes applies to the top-level string or bytes value only, as in enforceLimits. */
  private anyValue(end: number, depth: number, maxBytes: number): void {
    const r = this.r;
    if (depth > MAX_ANY_VALUE_DEPTH) throw NEEDS_DECODING;
    while (r.next(end)) {
      const wt = r.wireType;
      const field = r.field;
      if (wt !== WireType.LEN || (field !== 1 && field !== 5 && field !== 6 && field !== 7)) {
        r.skip();
        continue;
      }
      const e = r.len();
      if (field === 5 || field === 6) {
        // ArrayValue.values and KeyValueList.values are both field 1.
        while (r.next(e)) {
          if (r.field !== 1 || r.wireType !== WireType.LEN) r.skip();
          else if (field === 5) this.anyValue(r.len(), depth + 1, Infinity);
          else this.nestedKeyValue(r.len(), depth + 1);
        }
      } else {
        const n = e - r.pos;
        // The decoder replaces invalid UTF-8 with U+FFFD (3 bytes), so only ASCII is sure to keep its size.
        if (n > maxBytes || (field === 1 && n * 3 > maxBytes && !this.ascii(r.pos, e))) throw NEEDS_DECODING;
        r.pos = e;
      }
    }
  }

  private nestedKeyValue(end: number, depth: number): void {
    const r = this.r;
    while (r.next(end)) {
      if (r.field === 2 && r.wireType === WireType.LEN) this.anyValue(r.len(), depth, Infinity);
      else r.skip();
    }
  }

  private allZero(start: number, n: number): boolean {
    for (let i = start; i < start + n; i++) if (this.buf[i] !== 0) return false;
    return true;
  }

  private ascii(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (this.buf[i]! >= 0x80) return false;
    return true;
  }
}
