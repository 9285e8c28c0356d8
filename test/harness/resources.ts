// Resources for components built in a test that must not touch ClickHouse, Kafka or a local log.
import type { Resources } from '../../services/component/component.js';

export const unusedResources: Resources = {
  clickhouse: () => Promise.reject(new Error('this test uses no ClickHouse')),
  kafka: () => {
    throw new Error('this test uses no Kafka');
  },
  localLog: () => Promise.reject(new Error('this test uses no local log')),
};
