import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterStatements } from '../../services/shared/clickhouse/cluster.js';
import { renderMigrations } from '../../services/shared/clickhouse/migrate.js';

const node = { name: 'c', onCluster: false, replicated: false };

describe('cluster layout of the migrations', () => {
  it("renders each node's part: local tables, Distributed tables under the queried names, views on local tables, no ON CLUSTER", () => {
    const statements = renderMigrations({ database: 'db', ttlDays: 7 }, node).flatMap((m) => m.statements);
    assert.ok(statements.every((s) => !s.includes('ON CLUSTER')));
    assert.ok(statements.every((s) => !/Replicated/.test(s)));
    assert.ok(statements.includes("CREATE TABLE IF NOT EXISTS db.spans_minute AS db.spans_minute_local ENGINE = Distributed('c', 'db', 'spans_minute_local')"));
    const view = statements.find((s) => s.startsWith('CREATE MATERIALIZED VIEW IF NOT EXISTS db.trace_index_mv'))!;
    assert.match(view, /TO db\.trace_index_local AS/);
    assert.match(view, /FROM db\.spans_raw_local\)/);
    // A column added to spans_raw is added to both tables, in that order.
    const alters = statements.filter((s) => s.includes('ADD COLUMN IF NOT EXISTS gen_ai_operation'));
    assert.deepEqual(alters.map((s) => s.split(' ')[2]), ['db.spans_raw_local', 'db.spans_raw']);
    // A plain view reads the Distributed table: it answers for the whole cluster.
    assert.ok(statements.some((s) => s.startsWith('CREATE VIEW IF NOT EXISTS db.otel_traces AS') && /FROM db\.spans_raw$/.test(s)));
  });

  it('refuses what it has no cluster form for, instead of rendering it half right', () => {
    assert.throws(() => clusterStatements([['CREATE TABLE IF NOT EXISTS db.new_raw (a UInt8) ENGINE = MergeTree ORDER BY a']], 'db', node), /db\.new_raw is neither a materialized view's target nor has a sharding key/);
    assert.throws(() => clusterStatements([["CREATE TABLE IF NOT EXISTS db.spans_raw (a UInt8) ENGINE = ReplacingMergeTree(a) ORDER BY a"]], 'db', node), /only a MergeTree-family engine without arguments/);
    assert.throws(() => clusterStatements([['RENAME TABLE db.a TO db.b']], 'db', node), /no cluster form for the statement starting "RENAME TABLE db\.a TO db\.b"/);
    assert.throws(() => clusterStatements([['ALTER TABLE db.nowhere ADD COLUMN x UInt8']], 'db', node), /ALTER of db\.nowhere, which no migration creates/);
  });
});
