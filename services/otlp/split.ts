// One TracesData per trace id: what each Kafka message holds (the Collector's partition_traces_by_id).
import type { ResourceSpans, ScopeSpans, TracesData } from './model.js';

/** Splits a request into one TracesData per trace id, keeping each span under its own resource and scope. */
export function splitByTrace(data: TracesData): Map<string, TracesData> {
  const traces = new Map<string, TracesData>();
  for (const rs of data.resourceSpans) {
    // Per request resource/scope, the copy already made for a given trace.
    const rsCopies = new Map<string, ResourceSpans>();
    for (const ss of rs.scopeSpans) {
      const ssCopies = new Map<string, ScopeSpans>();
      for (const span of ss.spans) {
        let ssCopy = ssCopies.get(span.traceId);
        if (ssCopy === undefined) {
          let rsCopy = rsCopies.get(span.traceId);
          if (rsCopy === undefined) {
            rsCopy = { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl };
            rsCopies.set(span.traceId, rsCopy);
            let trace = traces.get(span.traceId);
            if (trace === undefined) traces.set(span.traceId, (trace = { resourceSpans: [] }));
            trace.resourceSpans.push(rsCopy);
          }
          ssCopy = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
          rsCopy.scopeSpans.push(ssCopy);
          ssCopies.set(span.traceId, ssCopy);
        }
        ssCopy.spans.push(span);
      }
    }
  }
  return traces;
}

/** One trace's spans of a request, encoded: a Kafka message as the Collector's exporter writes it. */
export interface EncodedTrace {
  /** Lowercase hex trace id: the Kafka message key. */
  traceId: string;
  /** TracesData protobuf holding this trace's spans of the request. */
  bytes: Uint8Array;
  spans: number;
}
