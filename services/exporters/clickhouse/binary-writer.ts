// ClickHouse's binary encoding of single values, the same in its Native and RowBinary formats:
// strings LEB128-length-prefixed, numbers little-endian, no quoting or escaping, so the server reads
// them without a text parser and the writer builds no JS strings. native.ts lays them out in columns.

/** A value that cannot be written to its column; the row can never be inserted (a data error). */
export class RowEncodingError extends Error {
  override name = 'RowEncodingError';
}

const TWO_POW_32 = 4294967296;
/** Strings this short fit their byte length (at most 3 bytes per UTF-16 unit) in a one-byte prefix. */
const ONE_BYTE_PREFIX_MAX_CHARS = 42;
/** Decimal(18, 10): 18 significant digits, 10 of them after the point. */
const DECIMAL_18_10_LIMIT = 1e8;

/** Below this many bytes a copy loop in JS beats a call into Buffer.copy (~57 ns a call on this box; the loop 22 ns at 8 bytes, 59 at 40, 89 at 64). */
const NATIVE_COPY_MIN_BYTES = 40;

/** Copies source[from, to) to target at `at`; returns the position after them. */
export function copyBytes(source: Buffer, from: number, to: number, target: Buffer, at: number): number {
  const n = to - from;
  if (n >= NATIVE_COPY_MIN_BYTES) source.copy(target, at, from, to);
  else for (let i = 0; i < n; i++) target[at + i] = source[from + i]!;
  return at + n;
}

export function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The largest arena a writer grows to: every column part keeps one open, so this bounds what the writers hold beyond the pieces in use. */
const MAX_ARENA_BYTES = 1 << 18;

/**
 * Appends values to an arena and hands them out as pieces: take() ends the piece written since the
 * last take() and leaves its bytes in place, so the arena holds consecutive pieces back to back and
 * a reader of several of them copies one run. A full arena is left to the pieces in it (the one being
 * written moves to a new arena, twice as large up to 256 KiB), so a piece is never copied to be kept.
 */
export class BinaryWriter {
  private buf: Buffer;
  /** Numbers go through a DataView: V8 inlines its setters, Buffer's writeUInt32LE and kin are calls. */
  private view: DataView;
  private pos = 0;
  private start = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, initialBytes));
    this.view = viewOf(this.buf);
  }

  /** Drops what was written since the last take(). */
  reset(): void {
    this.pos = this.start;
  }

  /** Ends the piece: what is written next starts a new one. */
  take(): void {
    this.start = this.pos;
  }

  /** The bytes written since the last take(). */
  get length(): number {
    return this.pos - this.start;
  }

  /** The arena the current piece is in, at [pieceStart, pieceEnd). */
  get arena(): Buffer {
    return this.buf;
  }

  get pieceStart(): number {
    return this.start;
  }

  get pieceEnd(): number {
    return this.pos;
  }

  /** Appends again the bytes written at [from, to) of the current piece (positions relative to its start). */
  repeat(from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    const at = this.start + from;
    if (n >= NATIVE_COPY_MIN_BYTES) this.buf.copyWithin(this.pos, at, at + n);
    else for (let i = 0; i < n; i++) this.buf[this.pos + i] = this.buf[at + i]!;
    this.pos += n;
  }

  /** Copies the current piece to `target` at `at`; returns the position after it. */
  copyTo(target: Buffer, at: number): number {
    return copyBytes(this.buf, this.start, this.pos, target, at);
  }

  /** The current piece (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(this.start, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const piece = this.pos - this.start;
    let size = Math.min(this.buf.length * 2, MAX_ARENA_BYTES);
    while (size < piece + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.view = viewOf(next);
    this.start = 0;
    this.pos = piece;
  }

  /** VarUInt (LEB128): block sizes, string lengths. */
  varUInt(v: number): void {
    this.ensure(5);
    this.varint(v);
  }

  private varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** String, and LowCardinality(String) (the same bytes in RowBinary). */
  string(s: string): void {
    const n = s.length;
    if (n < 0x80 && this.asciiWithOneBytePrefix(s, n)) return;
    if (n <= ONE_BYTE_PREFIX_MAX_CHARS) {
      this.ensure(1 + n * 3);
      const written = this.buf.write(s, this.pos + 1);
      this.buf[this.pos] = written;
      this.pos += 1 + written;
      return;
    }
    const len = Buffer.byteLength(s);
    this.ensure(5 + len);
    this.varint(len);
    this.pos += this.buf.write(s, this.pos);
  }

  /** Writes `s` if it is all ASCII, byte per char by hand: for short strings faster than a call into Buffer.write. */
  private asciiWithOneBytePrefix(s: string, n: number): boolean {
    this.ensure(1 + n);
    const buf = this.buf;
    const start = this.pos + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[start + i] = c;
    }
    buf[this.pos] = n;
    this.pos = start + n;
    return true;
  }

  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** UInt64 from a non-negative safe integer. */
  uint64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO_POW_32), true);
    this.pos += 8;
  }

  /** Int64, and DateTime64 as ticks of its precision. */
  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Decimal(18, 10) as its Int64 of 1e-10 units, rounded through the 10-decimal text as a text format would be. */
  decimal18x10(v: number, column: string): void {
    if (v === 0) return this.int64(0n);
    if (!(Math.abs(v) < DECIMAL_18_10_LIMIT)) throw new RowEncodingError(`${column} ${v} does not fit Decimal(18, 10)`);
    this.int64(BigInt(v.toFixed(10).replace('.', '')));
  }
}
