// The two pure-JavaScript codec packages ship no types; what kafka-codecs.ts and its test use of them.
declare module 'lz4js' {
  /** The content of the lz4 frame `src`. */
  export function decompress(src: Uint8Array): Uint8Array;
  export function compressBound(n: number): number;
  /** Compresses src[sIndex, sIndex + sLength) into dst from 0; returns the bytes written (0: incompressible). */
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  /** src as one lz4 frame (lz4js' own framing). */
  export function compress(src: Uint8Array): Uint8Array;
  const lz4: { decompress: typeof decompress; compress: typeof compress; compressBound: typeof compressBound; compressBlock: typeof compressBlock };
  export default lz4;
}

declare module 'lz4js/xxh32.js' {
  /** xxHash32 of src[index, index + length). */
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
  const xxh32: { hash: typeof hash };
  export default xxh32;
}

declare module 'snappyjs' {
  export function compress(src: Uint8Array): Uint8Array;
  export function uncompress(src: Uint8Array): Uint8Array;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
