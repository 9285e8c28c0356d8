// Fuzzing the OTLP decoders: thousands of random and mutated protobuf and JSON bodies, in bounded
// time. Every case must decode or fail with OtlpDecodeError (a 400), never throw anything else (a
// crash or a 500) and never take long (no hang, no quadratic blow-up). Deterministic seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTracesJson } from '../../services/otlp/json.js';
import { OtlpDecodeError } from '../../services/otlp/model.js';
import { decodeTracesProtobuf, encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { emitAgentRun } from '../harness/agent-traces.js';
import { seededRandom } from '../../services/shared/random.js';


function seedSpans() {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'fuzz', 'tenant.id': 't' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  for (let i = 0; i < 3; i++) emitAgentRun(provider.getTracer('fuzz'), i);
  return memory.getFinishedSpans();
}

function mutate(seed: Uint8Array, random: () => number): Uint8Array {
  const out = Buffer.from(seed);
  const kind = Math.floor(random() * 4);
  if (kind === 0) for (let i = 0; i < 1 + random() * 16; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  if (kind === 1) return out.subarray(0, Math.floor(random() * out.length));
  if (kind === 2) {
    const at = Math.floor(random() * out.length);
    return Buffer.concat([out.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), out.subarray(at)]);
  }
  if (kind === 3) {
    const a = Math.floor(random() * out.length);
    const b = Math.floor(random() * out.length);
    return Buffer.concat([out.subarray(0, Math.min(a, b)), out.subarray(Math.max(a, b)), out.subarray(Math.min(a, b), Math.max(a, b))]);
  }
  return out;
}

/** Runs decode; returns 'ok' | 'rejected', failing the test on any other outcome or a slow case. */
function attempt(decode: () => unknown, label: string): 'ok' | 'rejected' {
  const started = performance.now();
  let outcome: 'ok' | 'rejected';
  try {
    decode();
    outcome = 'ok';
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `${label}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    outcome = 'rejected';
  }
  assert.ok(performance.now() - started < 500, `${label}: took ${performance.now() - started} ms`);
  return outcome;
}

describe('decoder fuzzing', () => {
  const spans = seedSpans();

  it('protobuf: 4000 mutated and 1000 random bodies', () => {
    const random = seededRandom(1234);
    const seeds = [ProtobufTraceSerializer.serializeRequest(spans)!, encodeTracesProtobuf(decodeTracesProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!).data)];
    const counts = { ok: 0, rejected: 0 };
    for (let i = 0; i < 4000; i++) counts[attempt(() => decodeTracesProtobuf(mutate(seeds[i % 2]!, random)), `mutated #${i}`)]++;
    for (let i = 0; i < 1000; i++) {
      const body = Buffer.alloc(Math.floor(random() * 2048));
      for (let j = 0; j < body.length; j++) body[j] = Math.floor(random() * 256);
      counts[attempt(() => decodeTracesProtobuf(body), `random #${i}`)]++;
    }
    assert.ok(counts.ok > 0 && counts.rejected > 0, JSON.stringify(counts));
  });

  it('JSON: 3000 mutated bodies', () => {
    const random = seededRandom(99);
    const text = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
    const counts = { ok: 0, rejected: 0 };
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(mutate(text, random));
      // Keep most mutations printable, so the parser gets past the first byte often.
      if (i % 2 === 0) for (let j = 0; j < body.length; j++) if (body[j]! > 0x7e) body[j] = 0x22 + (body[j]! % 90);
      counts[attempt(() => decodeTracesJson(body.toString('latin1')), `json #${i}`)]++;
    }
    assert.ok(counts.ok > 0 && counts.rejected > 0, JSON.stringify(counts));
  });
});
