// The attributes processor: stamps tenant_id and env on every resource of traces and logs (from
// tenant.id / deployment.environment, or processors.attributes' defaults), with an API key's tenant
// over whatever the resource claims. The receiver's protobuf fast path stamps the same while splitting.
import { STATELESS, type LogsConsumer, type ProcessorFactory, type TracesConsumer } from '../component/component.js';
import { ENV_KEY, TENANT_KEY, type TenancyDefaults, resolveTenancy } from '../otlp/attributes.js';
import type { Resource, TracesData } from '../otlp/model.js';
import type { Section } from '../shared/config.js';

/** `authenticatedTenant` (from the API key) overrides whatever tenant the resource claims. */
export function stampTenancy(data: TracesData, defaults: TenancyDefaults, authenticatedTenant?: string): void {
  for (const rs of data.resourceSpans) stampResource(rs.resource, defaults, authenticatedTenant);
}

export function stampResource(resource: Resource, defaults: TenancyDefaults, authenticatedTenant?: string): void {
  const resolved = resolveTenancy(resource.attributes, defaults);
  const tenant = authenticatedTenant ?? resolved.tenant;
  const attrs = resource.attributes.filter((kv) => kv.key !== TENANT_KEY && kv.key !== ENV_KEY);
  attrs.push({ key: TENANT_KEY, value: { stringValue: tenant } }, { key: ENV_KEY, value: { stringValue: resolved.env } });
  resource.attributes = attrs;
}

function tracesProcessor(tenancy: TenancyDefaults, next: TracesConsumer): TracesConsumer {
  return {
    consumeTraces: (data, ctx) => {
      stampTenancy(data, tenancy, ctx.tenant);
      return next.consumeTraces(data, ctx);
    },
    encoded: next.encoded && { ...next.encoded, tenancy },
  };
}

function logsProcessor(tenancy: TenancyDefaults, next: LogsConsumer): LogsConsumer {
  return {
    consumeLogs: (data, ctx) => {
      for (const rl of data.resourceLogs) stampResource(rl.resource, tenancy, ctx.tenant);
      return next.consumeLogs(data, ctx);
    },
  };
}

export const attributesProcessorFactory = {
  kind: 'processor',
  type: 'attributes' as const,
  kinds: { traces: 'traces', logs: 'logs' },
  /** The tenant and env of resources that name none; the genai processor falls back to the same. */
  parseConfig: (section: Section): TenancyDefaults => ({
    tenant: section.str('default_tenant', 'default', 'TRACEHOUSE_DEFAULT_TENANT'),
    env: section.str('default_env', 'unknown', 'TRACEHOUSE_DEFAULT_ENV'),
  }),
  create: async (settings, next, input) => ({ ...STATELESS, ...(input === 'logs' ? logsProcessor(settings.config, next as LogsConsumer) : tracesProcessor(settings.config, next as TracesConsumer)) }),
} satisfies ProcessorFactory<TenancyDefaults>;
