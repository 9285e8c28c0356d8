// kafkajs reads only gzip record batches by itself, but Kafka producers (the Collector's kafka
// exporter, librdkafka, the Java client) and a topic's own compression.type also write snappy, lz4
// and zstd: a consumer that cannot read them stops at the first such batch. These are the codecs
// in pure JavaScript (no native build): snappy, raw or in the xerial framing the Java client
// writes; lz4 frames; zstd, read only (kafkajs cannot write it; librdkafka can).
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import xxh32 from 'lz4js/xxh32.js';
import snappy from 'snappyjs';
import { decompress as zstdDecompress } from 'fzstd';

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const asBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

// The Java client's SnappyOutputStream: magic, version, compatible version, then length-prefixed blocks.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

// lz4 frames as Kafka reads them (KafkaLZ4BlockInputStream): version 1 with independent blocks,
// which lz4js' own frame writer does not declare (its blocks may refer to earlier ones). Both
// directions reuse one table or block buffer: lz4js' frame reader allocates and zero-fills a block
// of the frame's maximum size (4 MiB) for every record batch.
const LZ4_MAGIC = 0x184d2204;
const LZ4_FLG = 0x40 | 0x20; // version 01, block independence
const LZ4_BD = 7 << 4; // blocks of up to 4 MiB
const LZ4_BLOCK_BYTES = 4 << 20;
const LZ4_UNCOMPRESSED = 0x80000000;
const lz4Table = new Uint32Array(1 << 16);
let lz4Block: Uint8Array | undefined;

function lz4Frame(src: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[4] = LZ4_FLG;
  header[5] = LZ4_BD;
  header[6] = (xxh32.hash(0, header, 4, 2) >>> 8) & 0xff;
  parts.push(header);
  for (let at = 0; at < src.length; at += LZ4_BLOCK_BYTES) {
    const block = src.subarray(at, at + LZ4_BLOCK_BYTES);
    const out = Buffer.allocUnsafe(4 + lz4.compressBound(block.length));
    // Cleared per block: lz4js trusts an entry at the current position, which an earlier block's
    // table can hold (a match at offset 0, which the broker rejects).
    lz4Table.fill(0);
    const written = lz4.compressBlock(block, out.subarray(4), 0, block.length, lz4Table);
    if (written > 0 && written < block.length) {
      out.writeUInt32LE(written, 0);
      parts.push(out.subarray(0, 4 + written));
    } else {
      out.writeUInt32LE((LZ4_UNCOMPRESSED | block.length) >>> 0, 0);
      parts.push(out.subarray(0, 4), block);
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

/** Below this many bytes a copy loop beats a call into copyWithin or set. */
const LZ4_NATIVE_COPY_MIN_BYTES = 32;

function corruptBlock(): never {
  throw new Error('lz4: corrupt block');
}

/**
 * Decodes one lz4 block into dst; returns its length. lz4js' decoder copies byte by byte; long
 * literal runs and matches go through set and copyWithin here (a repeating match in doubling copies).
 */
function lz4DecompressBlock(src: Uint8Array, from: number, size: number, dst: Uint8Array): number {
  const end = from + size;
  let s = from;
  let d = 0;
  while (s < end) {
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= end) corruptBlock();
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (s + literals > end || d + literals > dst.length) corruptBlock();
    if (literals >= LZ4_NATIVE_COPY_MIN_BYTES) {
      dst.set(src.subarray(s, s + literals), d);
      d += literals;
      s += literals;
    } else for (const stop = s + literals; s < stop; ) dst[d++] = src[s++]!;
    if (s === end) break;
    if (s + 2 > end) corruptBlock();
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= end) corruptBlock();
        b = src[s++]!;
        length += b;
      } while (b === 255);
    }
    length += 4;
    const m = d - offset;
    if (offset === 0 || m < 0 || d + length > dst.length) corruptBlock();
    if (length < LZ4_NATIVE_COPY_MIN_BYTES) for (let i = m, stop = d + length; d < stop; ) dst[d++] = dst[i++]!;
    else {
      // dst[m, d) repeats with period `offset`: copying all of it keeps the phase, and doubles it.
      while (length > 0) {
        const n = Math.min(length, d - m);
        dst.copyWithin(d, m, m + n);
        d += n;
        length -= n;
      }
    }
  }
  return d;
}

function lz4Unframe(src: Buffer): Buffer {
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('lz4: not an lz4 frame');
  const flg = src[4]!;
  if ((flg & 0xc0) !== 0x40) throw new Error(`lz4: frame version ${flg >> 6}, not 1`);
  // FLG, BD, the content size and dictionary id when present, the header checksum.
  let at = 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
  const blockChecksums = (flg & 0x10) !== 0;
  const parts: Buffer[] = [];
  for (;;) {
    const word = src.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (at + size > src.length) throw new Error('lz4: truncated frame');
    if ((word & LZ4_UNCOMPRESSED) !== 0) parts.push(Buffer.from(src.subarray(at, at + size)));
    else {
      lz4Block ??= new Uint8Array(LZ4_BLOCK_BYTES);
      parts.push(Buffer.from(lz4Block.subarray(0, lz4DecompressBlock(src, at, size, lz4Block))));
    }
    at += size + (blockChecksums ? 4 : 0);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function snappyDecompress(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return asBuffer(snappy.uncompress(buffer));
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length; ) {
    const size = buffer.readUInt32BE(at);
    blocks.push(asBuffer(snappy.uncompress(buffer.subarray(at + 4, at + 4 + size))));
    at += 4 + size;
  }
  return Buffer.concat(blocks);
}

const CODECS: Record<'Snappy' | 'LZ4' | 'ZSTD', Codec> = {
  Snappy: {
    compress: async ({ buffer }) => asBuffer(snappy.compress(buffer)),
    decompress: async (buffer) => snappyDecompress(buffer),
  },
  LZ4: {
    compress: async ({ buffer }) => lz4Frame(buffer),
    decompress: async (buffer) => lz4Unframe(buffer),
  },
  ZSTD: {
    compress: () => Promise.reject(new Error('kafkajs cannot write zstd: use the librdkafka client (exporters.kafka.client) or another compression')),
    decompress: async (buffer) => asBuffer(zstdDecompress(buffer)),
  },
};

let registered = false;

/** Lets every kafkajs client of the process read (and, but for zstd, write) snappy, lz4 and zstd batches. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  for (const [type, codec] of Object.entries(CODECS) as Array<[keyof typeof CODECS, Codec]>) kafkajs.CompressionCodecs[kafkajs.CompressionTypes[type]] = () => codec;
}
