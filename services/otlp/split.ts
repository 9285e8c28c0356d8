// One TracesData per trace id: what each Kafka message holds (the Collector's partition_traces_by_id);
// and halves of a request too large for one message.
import { type LogsData, type ResourceSpans, type ScopeSpans, type TracesData, countLogRecords, countSpans } from './model.js';

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

/**
 * Items of resource -> scope -> item nesting cut into two halves of (nearly) equal count, each item
 * kept under its own resource and scope.
 */
function halveNested<R, S, I>(resources: R[], total: number, scopesOf: (r: R) => S[], itemsOf: (s: S) => I[], rebuild: (r: R, s: S, items: I[]) => R): [R[], R[]] {
  const half = Math.floor(total / 2);
  const first: R[] = [];
  const second: R[] = [];
  let seen = 0;
  for (const r of resources) {
    for (const s of scopesOf(r)) {
      const items = itemsOf(s);
      const cut = Math.max(0, Math.min(items.length, half - seen));
      seen += items.length;
      if (cut > 0) first.push(rebuild(r, s, items.slice(0, cut)));
      if (cut < items.length) second.push(rebuild(r, s, items.slice(cut)));
    }
  }
  return [first, second];
}

export function halveTraces(data: TracesData): [TracesData, TracesData] {
  const [a, b] = halveNested(data.resourceSpans, countSpans(data), (rs) => rs.scopeSpans, (ss) => ss.spans, (rs, ss, spans) => ({ ...rs, scopeSpans: [{ ...ss, spans }] }));
  return [{ resourceSpans: a }, { resourceSpans: b }];
}

export function halveLogs(data: LogsData): [LogsData, LogsData] {
  const [a, b] = halveNested(data.resourceLogs, countLogRecords(data), (rl) => rl.scopeLogs, (sl) => sl.logRecords, (rl, sl, logRecords) => ({ ...rl, scopeLogs: [{ ...sl, logRecords }] }));
  return [{ resourceLogs: a }, { resourceLogs: b }];
}
