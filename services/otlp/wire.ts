// Minimal protobuf wire-format reader and writer for the OTLP messages.
// Hand-written for the receiver's hot path: no generated code, no reflection, and the split fast
// path (split-protobuf.ts) can walk a request without decoding its spans.
import { OtlpDecodeError } from './model.js';

export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** The same bytes as a Buffer, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const SHORT_STRING_MAX = 64;
const SHORT_STRING_CACHE_SIZE = 4096;
/** Recently decoded short ASCII strings by hash slot (process-wide: attribute keys and names repeat across requests). */
const shortStrings: Array<string | undefined> = new Array<string | undefined>(SHORT_STRING_CACHE_SIZE).fill(undefined);

function sameAscii(s: string, buf: Buffer, start: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/**
 * One cursor over the whole buffer; nested messages are read up to the end position that len()
 * returns, so decoding allocates nothing per field but the values themselves.
 */
export class ProtoReader {
  pos = 0;
  /** Field number and wire type of the tag last read by next(). */
  field = 0;
  wireType = 0;
  private readonly buf: Buffer;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.buf = asBuffer(bytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.buf.length;
  }

  /** Reads the next tag if pos < end; false at the end of the message. */
  next(end: number): boolean {
    if (this.pos >= end) {
      if (this.pos > end) throw new OtlpDecodeError(`field overruns its message at byte ${this.pos}`);
      return false;
    }
    const t = this.uint();
    this.field = Math.floor(t / 8);
    this.wireType = t & 7;
    return true;
  }

  /** Reads a varint up to 2^53 exactly. */
  uint(): number {
    const buf = this.buf;
    let b = buf[this.pos++]!;
    if (b < 0x80 && this.pos <= buf.length) return b;
    let result = b & 0x7f;
    let shift = 128;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= buf.length) throw new OtlpDecodeError('truncated varint');
      b = buf[this.pos++]!;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw new OtlpDecodeError('varint longer than 10 bytes');
  }

  /** int64 varint as a two's-complement signed value; bigint only when outside the safe range. */
  int64(): number | bigint {
    const start = this.pos;
    const approx = this.uint();
    if (approx <= Number.MAX_SAFE_INTEGER) return approx;
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt(this.buf[p]! & 0x7f) << shift;
      shift += 7n;
    }
    return BigInt.asIntN(64, v);
  }

  fixed32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix; returns the end of the field's bytes (pos is at their start). */
  len(): number {
    const n = this.uint();
    this.need(n);
    return this.pos + n;
  }

  string(): string {
    const end = this.len();
    const start = this.pos;
    this.pos = end;
    const n = end - start;
    if (n === 0) return '';
    if (n <= SHORT_STRING_MAX) {
      // Short ASCII strings (keys, names, most values) repeat across spans: hashed while checked
      // for ASCII, and an identical earlier one is returned from the cache instead of decoded again.
      const buf = this.buf;
      let hash = n;
      for (let i = start; i < end; i++) {
        const b = buf[i]!;
        if (b >= 0x80) return buf.toString('utf8', start, end);
        hash = Math.imul(hash ^ b, 0x01000193);
      }
      const slot = (hash ^ (hash >>> 15)) & (SHORT_STRING_CACHE_SIZE - 1);
      const cached = shortStrings[slot];
      if (cached !== undefined && sameAscii(cached, buf, start, n)) return cached;
      const s = buf.toString('latin1', start, end);
      shortStrings[slot] = s;
      return s;
    }
    return this.buf.toString('utf8', start, end);
  }

  bytes(): Uint8Array {
    const end = this.len();
    // A copy, so a kept value does not pin the whole request buffer.
    const out = new Uint8Array(this.buf.subarray(this.pos, end));
    this.pos = end;
    return out;
  }

  /** Steps over a length-delimited field; returns where its bytes start (they end at pos). */
  skipBytes(): number {
    const end = this.len();
    const start = this.pos;
    this.pos = end;
    return start;
  }

  hex(): string {
    const end = this.len();
    const start = this.pos;
    this.pos = end;
    return this.buf.toString('hex', start, end);
  }

  skip(): void {
    switch (this.wireType) {
      case WireType.VARINT:
        this.uint();
        return;
      case WireType.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.len();
        return;
      case WireType.I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new OtlpDecodeError(`unsupported wire type ${this.wireType} at byte ${this.pos}`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new OtlpDecodeError(`truncated message: need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`);
  }
}

/**
 * Writer that emits nested messages without pre-computing sizes: each fork() reserves
 * a length slot, join() back-patches it (shifting the body when the varint needs more than one byte).
 */
export class ProtoWriter {
  private buf: Uint8Array;
  private pos = 0;
  private readonly stack: number[] = [];

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private varintBig(v: bigint): void {
    this.ensure(10);
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uint(field: number, v: number): this {
    return v === 0 ? this : this.uintAlways(field, v);
  }

  uintAlways(field: number, v: number): this {
    this.tag(field, WireType.VARINT);
    this.varint(v);
    return this;
  }

  int64Always(field: number, v: number | bigint): this {
    this.tag(field, WireType.VARINT);
    if (typeof v === 'bigint' || v < 0) this.varintBig(BigInt(v));
    else this.varint(v);
    return this;
  }

  fixed32(field: number, v: number): this {
    if (v !== 0) {
      this.tag(field, WireType.I32);
      this.ensure(4);
      new DataView(this.buf.buffer).setUint32(this.pos, v >>> 0, true);
      this.pos += 4;
    }
    return this;
  }

  fixed64(field: number, v: bigint): this {
    if (v !== 0n) {
      this.tag(field, WireType.I64);
      this.ensure(8);
      new DataView(this.buf.buffer).setBigUint64(this.pos, v, true);
      this.pos += 8;
    }
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, WireType.I64);
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  string(field: number, v: string): this {
    return v.length === 0 ? this : this.stringAlways(field, v);
  }

  stringAlways(field: number, v: string): this {
    this.tag(field, WireType.LEN);
    // Worst case 3 bytes per UTF-16 unit; encodeInto writes in place.
    this.ensure(10 + v.length * 3);
    const lenPos = this.pos;
    this.pos += 1;
    const { written } = textEncoder.encodeInto(v, this.buf.subarray(this.pos));
    this.pos += written;
    this.patchLength(lenPos, written);
    return this;
  }

  bytes(field: number, v: Uint8Array): this {
    return v.length === 0 ? this : this.bytesAlways(field, v);
  }

  bytesAlways(field: number, v: Uint8Array): this {
    this.tag(field, WireType.LEN);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  hex(field: number, hex: string): this {
    if (hex.length === 0) return this;
    return this.bytes(field, Buffer.from(hex, 'hex'));
  }

  /** Appends bytes that are already encoded fields (tags included). */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Starts an embedded message on `field`; close it with join(). */
  fork(field: number): this {
    this.tag(field, WireType.LEN);
    this.ensure(1);
    this.stack.push(this.pos);
    this.pos += 1;
    return this;
  }

  join(): this {
    const lenPos = this.stack.pop();
    if (lenPos === undefined) throw new Error('join() without fork()');
    this.patchLength(lenPos, this.pos - lenPos - 1);
    return this;
  }

  finish(): Uint8Array {
    if (this.stack.length !== 0) throw new Error('unbalanced fork()/join()');
    return this.buf.subarray(0, this.pos);
  }

  /** Writes `len` into the one byte reserved at lenPos, moving the body if the varint is longer. */
  private patchLength(lenPos: number, len: number): void {
    let size = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 128)) size++;
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(lenPos + size, lenPos + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len;
    let p = lenPos;
    while (v >= 0x80) {
      this.buf[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
  }
}

const textEncoder = new TextEncoder();
