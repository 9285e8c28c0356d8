// What an OTLP answer says, read back from its bytes: independent of the code under test's encoder.
import { ProtoReader } from '../../services/otlp/wire.js';

/** partial_success {1: rejected_spans, 2: error_message} of an ExportTraceServiceResponse. */
export function partialSuccess(body: Uint8Array): { rejected: number; message: string } {
  const out = { rejected: 0, message: '' };
  const r = new ProtoReader(body);
  while (r.next(r.length)) {
    if (r.field !== 1 || r.wireType !== 2) {
      r.skip();
      continue;
    }
    const end = r.len();
    while (r.next(end)) {
      if (r.field === 1) out.rejected = r.uint();
      else if (r.field === 2) out.message = r.string();
      else r.skip();
    }
  }
  return out;
}
