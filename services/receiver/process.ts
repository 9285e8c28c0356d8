// Processing stage: the attributes processor stamps tenant_id and env on every resource (from
// tenant.id / deployment.environment, or the configured defaults), and spans are grouped per
// trace so each trace becomes one Kafka message keyed by its id.
import type { ResourceSpans, ScopeSpans, TracesData } from '../shared/otlp/model.js';
import { ENV_KEY, TENANT_KEY, resolveTenancy, type TenancyDefaults } from '../shared/normalize/attributes.js';

export function stampTenancy(data: TracesData, defaults: TenancyDefaults): void {
  for (const rs of data.resourceSpans) {
    const { tenant, env } = resolveTenancy(rs.resource.attributes, defaults);
    const attrs = rs.resource.attributes.filter((kv) => kv.key !== TENANT_KEY && kv.key !== ENV_KEY);
    attrs.push({ key: TENANT_KEY, value: { stringValue: tenant } }, { key: ENV_KEY, value: { stringValue: env } });
    rs.resource.attributes = attrs;
  }
}

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
