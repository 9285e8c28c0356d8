import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';
import { registerKafkaCodecs } from '../../services/shared/kafka-codecs.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

describe('kafka codecs (snappy, lz4, zstd) registered into kafkajs', () => {
  registerKafkaCodecs();
  const repetitive = Buffer.from('{"gen_ai.request.model":"gpt-4o","tokens":1234} '.repeat(200_000)); // ~9.8 MB: three lz4 blocks
  const samples = [Buffer.alloc(0), Buffer.from('x'), randomBytes(100_000), repetitive];

  it('round-trips snappy and lz4 through what kafkajs writes and reads', async () => {
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4] as const) {
      const codec = CompressionCodecs[type]();
      for (const sample of samples) assert.ok((await codec.decompress(await codec.compress({ buffer: sample }))).equals(sample), `codec ${type}, ${sample.length} bytes`);
    }
    // One batch after another: nothing of an earlier batch leaks into the next one's frame.
    const lz4Codec = CompressionCodecs[CompressionTypes.LZ4]();
    const next = Buffer.from(repetitive.subarray(0, 50_000).toString().replace(/gpt-4o/g, 'claude'));
    for (const sample of [repetitive.subarray(0, 60_000), next, repetitive.subarray(7, 50_007)]) {
      assert.ok(Buffer.from(lz4.decompress(await lz4Codec.compress({ buffer: sample }))).equals(sample), 'a batch after another');
    }
    const framed = await CompressionCodecs[CompressionTypes.LZ4]().compress({ buffer: repetitive });
    assert.ok(framed.length < repetitive.length / 20, 'compressed');
    assert.equal(framed[4], 0x60, 'lz4 frame: version 1, independent blocks (Kafka refuses dependent ones)');
    assert.ok(Buffer.from(lz4.decompress(framed)).equals(repetitive), 'another lz4 reader reads the frame');
  });

  it('reads lz4 blocks of every kind of run: short and long literals, matches overlapping themselves at any period', async () => {
    const codec = CompressionCodecs[CompressionTypes.LZ4]();
    const pieces: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const period = 1 + (i % 37);
      const unit = randomBytes(period);
      pieces.push(Buffer.concat(Array.from({ length: 1 + ((i * 7) % 90) }, () => unit)), randomBytes(i % 50));
    }
    const mixed = Buffer.concat(pieces);
    const framed = await codec.compress({ buffer: mixed });
    assert.ok(framed.length < mixed.length / 2, 'runs were matched');
    assert.ok((await codec.decompress(framed)).equals(mixed));
    assert.ok((await codec.decompress(Buffer.from(lz4.compress(mixed)))).equals(mixed), "lz4js' own frames");
    // A match reaching before the block's start: an error, not bytes from elsewhere.
    const block = Buffer.from([0x10, 0x61, 0x05, 0x00]); // one literal 'a', then a match 5 bytes back
    const corrupt = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x00]), Buffer.from([block.length, 0, 0, 0]), block, Buffer.alloc(4)]);
    await assert.rejects(codec.decompress(corrupt), /lz4: corrupt block/);
  });

  it('reads snappy in the xerial framing of the Java client, and zstd; refuses to write zstd', async () => {
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const blocks = [repetitive.subarray(0, 32_768), repetitive.subarray(32_768, 70_000)].map((b) => {
      const c = Buffer.from(snappy.compress(b));
      const size = Buffer.alloc(4);
      size.writeUInt32BE(c.length);
      return Buffer.concat([size, c]);
    });
    const xerial = Buffer.concat([header, ...blocks]);
    assert.ok((await CompressionCodecs[CompressionTypes.Snappy]().decompress(xerial)).equals(repetitive.subarray(0, 70_000)));
    // A zstd frame of "hello zstd\n" (the zstd command line, level 3).
    const frame = Buffer.from('KLUv/QRYWQAAaGVsbG8genN0ZApsV/lR', 'base64');
    assert.equal((await CompressionCodecs[CompressionTypes.ZSTD]().decompress(frame)).toString(), 'hello zstd\n');
    await assert.rejects(CompressionCodecs[CompressionTypes.ZSTD]().compress({ buffer: repetitive }), /kafkajs cannot write zstd/);
  });
});
