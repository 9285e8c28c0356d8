// Decode stage: picks the OTLP codec from Content-Type and undoes Content-Encoding, enforcing the
// body cap after decompression (a small gzip body can expand to gigabytes).
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { OtlpEncoding } from '../../otlp/response.js';

const gunzipAsync = promisify(gunzip);

/** The request cannot be taken as sent; `status` is the HTTP answer. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return null;
}

export async function decompress(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const coding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return body;
  if (coding !== 'gzip') throw new RequestError(415, `unsupported Content-Encoding "${coding}" (gzip or identity)`);
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new RequestError(413, `decompressed body exceeds ${maxBytes} bytes`);
    }
    throw new RequestError(400, `invalid gzip body: ${(err as Error).message}`);
  }
}
