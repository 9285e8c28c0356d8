// The attributes processor: stamps tenant_id and env on every resource (from tenant.id /
// deployment.environment, or processors.attributes' defaults), with an API key's tenant over
// whatever the resource claims. The receiver's protobuf fast path stamps the same while splitting.
import { STATELESS, type ProcessorFactory, type TracesConsumer, type TracesContext } from '../component/component.js';
import { stampTenancy } from '../receiver/process.js';
import type { TenancyDefaults } from '../shared/normalize/attributes.js';
import type { TracesData } from '../shared/otlp/model.js';

export function attributesProcessor(tenancy: TenancyDefaults, next: TracesConsumer): TracesConsumer {
  return {
    consumeTraces: (data: TracesData, ctx: TracesContext) => {
      stampTenancy(data, tenancy, ctx.tenant);
      return next.consumeTraces(data, ctx);
    },
    encoded: next.encoded && { ...next.encoded, tenancy },
  };
}

export const attributesProcessorFactory: ProcessorFactory = {
  kind: 'processor',
  type: 'attributes',
  consumes: 'traces',
  produces: 'traces',
  create: async (settings, next) => ({ ...STATELESS, ...attributesProcessor(settings.config.tenancy, next as TracesConsumer) }),
};
