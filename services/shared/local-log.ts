// A durable, one-partition log on local disk: what Kafka is to the pipeline, for a machine without
// Kafka. Records (a key and a value) are appended to segment files with a length and a CRC-32 each;
// appends that arrive together share one write and one fdatasync (group commit), and an append
// resolves only once its record is on disk. Offsets count records from 0; a reader sees only durable
// records. The committed offset and its metadata (the exactly-once protocol's marker) are kept in a
// file replaced atomically; segments wholly below it are deleted. A torn or corrupt tail after a
// crash is found by its CRC and cut off, with a log line, before anything reads it.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RetryableError } from './errors.js';
import type { Logger } from './log.js';

const HEADER_BYTES = 8;
const SEGMENT_DIGITS = 20;

export interface LocalLogOptions {
  directory: string;
  /** Bytes of segments kept on disk at most; appends past it are refused for now. */
  maxBytes: number;
  /** A segment is closed and a new one begun past this size. */
  segmentBytes: number;
  log: Logger;
}

export interface LogRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer;
}

interface Segment {
  first: bigint;
  path: string;
  bytes: number;
}

interface Pending {
  frames: Buffer[];
  done: (err?: Error) => void;
}

/** The log's full: the client should retry once the reader has caught up. */
export class LocalLogFullError extends RetryableError {}

function segmentName(first: bigint): string {
  return `${first.toString().padStart(SEGMENT_DIGITS, '0')}.log`;
}

/** One record as written: length, CRC-32 of the payload, then the payload (key length + 1, key, value). */
function frame(key: string | null, value: Uint8Array): Buffer {
  const keyLength = key === null ? 0 : Buffer.byteLength(key);
  const out = Buffer.allocUnsafe(HEADER_BYTES + 4 + keyLength + value.length);
  out.writeUInt32LE(4 + keyLength + value.length, 0);
  // Key length + 1, so that 0 means "no key".
  out.writeUInt32LE(key === null ? 0 : keyLength + 1, HEADER_BYTES);
  if (key !== null) out.write(key, HEADER_BYTES + 4);
  out.set(value, HEADER_BYTES + 4 + keyLength);
  out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES)), 4);
  return out;
}

/** Records of a segment's bytes up to the first torn or corrupt one; `valid` is where that one starts. */
function parse(bytes: Buffer, first: bigint): { records: LogRecord[]; valid: number } {
  const records: LogRecord[] = [];
  let pos = 0;
  while (pos + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(pos);
    const end = pos + HEADER_BYTES + length;
    if (length < 4 || end > bytes.length) break;
    const payload = bytes.subarray(pos + HEADER_BYTES, end);
    if (crc32(payload) !== bytes.readUInt32LE(pos + 4)) break;
    const keyField = payload.readUInt32LE(0);
    const keyLength = keyField === 0 ? 0 : keyField - 1;
    if (4 + keyLength > payload.length) break;
    records.push({ offset: first + BigInt(records.length), key: keyField === 0 ? null : payload.subarray(4, 4 + keyLength), value: payload.subarray(4 + keyLength) });
    pos = end;
  }
  return { records, valid: pos };
}

export class LocalLog extends EventEmitter {
  /** Identifies this log across restarts; part of every dedup token, so a new log never collides with an old one's. */
  readonly id: string;
  private readonly segments: Segment[];
  private active: FileHandle;
  /** The offset the next append gets. */
  private nextOffset: bigint;
  /** Records below this offset are on disk. */
  private durable: bigint;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private flushing = false;
  private closed = false;
  private commits: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: LocalLogOptions,
    id: string,
    segments: Segment[],
    active: FileHandle,
    next: bigint,
  ) {
    super();
    this.id = id;
    this.segments = segments;
    this.active = active;
    this.nextOffset = next;
    this.durable = next;
  }

  static async open(opts: LocalLogOptions): Promise<LocalLog> {
    await mkdir(opts.directory, { recursive: true });
    const idFile = join(opts.directory, 'log-id');
    let id = (await readFile(idFile, 'utf8').catch(() => '')).trim();
    if (id === '') {
      id = randomUUID().slice(0, 8);
      await writeFile(idFile, `${id}\n`);
    }
    const names = (await readdir(opts.directory)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const segments: Segment[] = [];
    for (const name of names) segments.push({ first: BigInt(name.slice(0, SEGMENT_DIGITS)), path: join(opts.directory, name), bytes: (await stat(join(opts.directory, name))).size });
    let next = 0n;
    const last = segments.at(-1);
    if (last) {
      const bytes = await readFile(last.path);
      const { records, valid } = parse(bytes, last.first);
      if (valid < bytes.length) {
        opts.log.warn('local log: torn or corrupt tail cut off (a crash during a write; its requests were not acknowledged)', { segment: last.path, kept_bytes: valid, dropped_bytes: bytes.length - valid });
        const fh = await open(last.path, 'r+');
        await fh.truncate(valid);
        await fh.sync();
        await fh.close();
        last.bytes = valid;
      }
      next = last.first + BigInt(records.length);
    } else {
      const committed = await readCommitted(opts.directory);
      next = committed.offset ?? 0n;
      segments.push({ first: next, path: join(opts.directory, segmentName(next)), bytes: 0 });
    }
    const active = await open(segments.at(-1)!.path, 'a');
    return new LocalLog(opts, id, segments, active, next);
  }

  /** Bytes of segments on disk. */
  get sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** The first offset not yet durable: readers stop before it. */
  get durableOffset(): bigint {
    return this.durable;
  }

  /** Resolves once every record is on disk, in order; rejects with LocalLogFullError past the cap. */
  append(records: ReadonlyArray<{ key: string | null; value: Uint8Array }>): Promise<void> {
    if (this.closed) return Promise.reject(new RetryableError('local log closed: shutting down'));
    const frames = records.map((r) => frame(r.key, r.value));
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (this.sizeBytes + this.queuedBytes + bytes > this.opts.maxBytes) {
      return Promise.reject(new LocalLogFullError(`local log full (${this.sizeBytes} bytes on disk, cap ${this.opts.maxBytes}): ClickHouse is behind or down; retry later`, 5));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, done: (err) => (err ? reject(err) : resolve()) });
      this.queuedBytes += bytes;
      if (!this.flushing) void this.flush();
    });
  }

  /** One write and one fdatasync for everything queued meanwhile. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const frames = batch.flatMap((p) => p.frames);
        const data = Buffer.concat(frames);
        this.queuedBytes -= data.length;
        try {
          await this.active.write(data);
          await this.active.datasync();
          this.segments.at(-1)!.bytes += data.length;
          this.nextOffset += BigInt(frames.length);
          this.durable = this.nextOffset;
          for (const p of batch) p.done();
          this.emit('durable', this.durable);
          if (this.segments.at(-1)!.bytes >= this.opts.segmentBytes) await this.roll();
        } catch (err) {
          for (const p of batch) p.done(new RetryableError(`local log write failed: ${(err as Error).message}`, 1, { cause: err }));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async roll(): Promise<void> {
    await this.active.close();
    const segment: Segment = { first: this.nextOffset, path: join(this.opts.directory, segmentName(this.nextOffset)), bytes: 0 };
    this.segments.push(segment);
    this.active = await open(segment.path, 'a');
  }

  /** A reader of durable records from `offset` on. */
  async reader(offset: bigint): Promise<LogReader> {
    const segment = [...this.segments].reverse().find((s) => s.first <= offset);
    if (segment === undefined) throw new Error(`local log: offset ${offset} was deleted (its segments are gone)`);
    const reader = new LogReader(this, segment);
    await reader.skipTo(offset);
    return reader;
  }

  /** The segment after `segment`, once there is one. */
  nextSegment(segment: { first: bigint }): { first: bigint; path: string } | undefined {
    const i = this.segments.findIndex((s) => s.first === segment.first);
    return i >= 0 ? this.segments[i + 1] : this.segments.find((s) => s.first > segment.first);
  }

  async committed(): Promise<{ offset: bigint | null; metadata: string | null }> {
    return readCommitted(this.opts.directory);
  }

  /** Stores the committed offset durably, then deletes the segments wholly below it; commits apply in call order. */
  commit(offset: bigint, metadata: string): Promise<void> {
    const run = this.commits.then(() => this.store(offset, metadata));
    this.commits = run.catch(() => undefined);
    return run;
  }

  private async store(offset: bigint, metadata: string): Promise<void> {
    const path = join(this.opts.directory, 'committed.json');
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    await fh.writeFile(JSON.stringify({ offset: offset.toString(), metadata }));
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    const dir = await open(this.opts.directory, 'r');
    await dir.sync();
    await dir.close();
    while (this.segments.length > 1 && this.segments[1]!.first <= offset) {
      const gone = this.segments.shift()!;
      await rm(gone.path, { force: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.active.close();
  }
}

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** Reads a log's durable records in order, segment after segment, from a byte position it keeps. */
export class LogReader {
  private position = 0;
  private buffered = Buffer.alloc(0);
  /** The offset of the next record this reader returns. */
  private offset: bigint;

  constructor(
    private readonly log: LocalLog,
    private segment: { first: bigint; path: string },
  ) {
    this.offset = segment.first;
  }

  /** Reads and drops records until the next one is `target`. */
  async skipTo(target: bigint): Promise<void> {
    while (this.offset < target) if ((await this.next(Number(target - this.offset))).length === 0) break;
  }

  /** Up to `maxRecords` durable records; none when the reader is at the durable end. */
  async next(maxRecords: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    const durable = this.log.durableOffset;
    while (out.length < maxRecords && this.offset < durable) {
      const record = this.take();
      if (record !== null) {
        out.push(record);
        continue;
      }
      if ((await this.readChunk()) > 0) continue;
      // This segment is read to its end: the rest is in the next one.
      const next = this.log.nextSegment(this.segment);
      if (next === undefined || next.first !== this.offset) break;
      this.segment = next;
      this.position = 0;
    }
    return out;
  }

  /** The next whole record of the buffer, or null when it is not all read yet. */
  private take(): LogRecord | null {
    if (this.buffered.length < HEADER_BYTES) return null;
    const length = this.buffered.readUInt32LE(0);
    if (this.buffered.length < HEADER_BYTES + length) return null;
    const { records } = parse(this.buffered.subarray(0, HEADER_BYTES + length), this.offset);
    const record = records[0];
    // Below the durable offset every record was written whole and synced: a mismatch is damage, not a tear.
    if (record === undefined) throw new Error(`local log: record ${this.offset} of ${this.segment.path} fails its CRC`);
    this.buffered = this.buffered.subarray(HEADER_BYTES + length);
    this.offset++;
    return { offset: record.offset, key: record.key && Buffer.from(record.key), value: Buffer.from(record.value) };
  }

  private async readChunk(): Promise<number> {
    const fh = await open(this.segment.path, 'r');
    try {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, this.position);
      this.position += bytesRead;
      this.buffered = this.buffered.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([this.buffered, chunk.subarray(0, bytesRead)]);
      return bytesRead;
    } finally {
      await fh.close();
    }
  }
}

async function readCommitted(directory: string): Promise<{ offset: bigint | null; metadata: string | null }> {
  const text = await readFile(join(directory, 'committed.json'), 'utf8').catch(() => null);
  if (text === null) return { offset: null, metadata: null };
  const stored = JSON.parse(text) as { offset: string; metadata: string };
  return { offset: BigInt(stored.offset), metadata: stored.metadata };
}
