// Migrations on the real engine: applied once, recorded, safe to run again, and the TTL is configurable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { clickhouseEnv } from '../harness/pipeline.js';
import { openClickHouse } from '../../services/shared/clickhouse/client.js';
import { migrate } from '../../services/shared/clickhouse/migrate.js';
import { resolveConfig } from '../../services/config.js';
import { createLogger } from '../../services/shared/log.js';

describe('tracehouse migrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracehouse-migrate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('applies each migration once, records it, and is a no-op the second time', async () => {
    const cfg = resolveConfig({}, { TRACEHOUSE_DATA_DIR: dir, ...clickhouseEnv(), CLICKHOUSE_DATABASE: 'migrate_test', CLICKHOUSE_TTL_DAYS: '12' });
    const ch = await openClickHouse(cfg.exporters.clickhouse);
    try {
      const log = createLogger('test', 40);
      const first = await migrate(ch.client, { database: 'migrate_test', ttlDays: 12 }, log);
      assert.ok(first.length >= 1);
      assert.deepEqual(await migrate(ch.client, { database: 'migrate_test', ttlDays: 12 }, log), []);
      const recorded = await (await ch.client.query({ query: 'SELECT version, name FROM migrate_test.schema_migrations ORDER BY version', format: 'JSONEachRow' })).json<{ version: number }>();
      assert.deepEqual(recorded.map((r) => r.version), first);
      const ddl = await (await ch.client.query({ query: "SELECT create_table_query AS q FROM system.tables WHERE database = 'migrate_test' AND name = 'spans_raw'", format: 'JSONEachRow' })).json<{ q: string }>();
      assert.match(ddl[0]!.q, /toIntervalDay\(12\)/);
      assert.match(ddl[0]!.q, /PARTITION BY toDate\(start_ts\)/);
      assert.match(ddl[0]!.q, /bloom_filter/);
      const wider = await (await ch.client.query({ query: "SELECT name FROM system.tables WHERE database = 'migrate_test' AND create_table_query LIKE '%merge_selector_base = 10%' ORDER BY name", format: 'JSONEachRow' })).json<{ name: string }>();
      assert.deepEqual(wider.map((t) => t.name), ['events_raw', 'logs_raw', 'spans_raw'], 'the raw tables merge wider than the default');
    } finally {
      await ch.close();
    }
  });
});
