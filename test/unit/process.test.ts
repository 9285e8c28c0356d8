import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMigrations } from '../../services/shared/clickhouse/migrate.js';
import { decodeTracesJson } from '../../services/otlp/json.js';
import { countSpans } from '../../services/otlp/model.js';
import { stampTenancy } from '../../services/processors/attributes.js';
import { splitByTrace } from '../../services/otlp/split.js';
import { readFileSync } from 'node:fs';

const T1 = '11111111111111111111111111111111';
const T2 = '22222222222222222222222222222222';
const span = (traceId: string, n: number) => ({ traceId, spanId: `${n}`.padStart(16, 'a'), name: `s${n}` });

function request() {
  return decodeTracesJson(
    JSON.stringify({
      resourceSpans: [
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'a' } }, { key: 'tenant.id', value: { stringValue: 'acme' } }] }, scopeSpans: [{ scope: { name: 'x' }, spans: [span(T1, 1), span(T2, 2), span(T1, 3)] }, { scope: { name: 'y' }, spans: [span(T2, 4)] }] },
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'b' } }, { key: 'deployment.environment', value: { stringValue: 'prod' } }] }, scopeSpans: [{ scope: { name: 'z' }, spans: [span(T1, 5)] }] },
      ],
    }),
  ).data;
}

describe('receiver processing', () => {
  it('splits a request per trace, keeping resource and scope of every span', () => {
    const traces = splitByTrace(request());
    assert.deepEqual([...traces.keys()], [T1, T2]);
    const shape = (t: string) => traces.get(t)!.resourceSpans.map((rs) => rs.scopeSpans.map((ss) => `${ss.scope.name}:${ss.spans.map((s) => s.name).join('+')}`));
    assert.deepEqual(shape(T1), [['x:s1+s3'], ['z:s5']]);
    assert.deepEqual(shape(T2), [['x:s2', 'y:s4']]);
    assert.equal(countSpans(traces.get(T1)!) + countSpans(traces.get(T2)!), 5);
  });

  it('stamps tenant_id and env on every resource, from conventions or defaults', () => {
    const data = request();
    stampTenancy(data, { tenant: 'default', env: 'unknown' });
    const stamped = data.resourceSpans.map((rs) => Object.fromEntries(rs.resource.attributes.filter((kv) => kv.key === 'tenant_id' || kv.key === 'env').map((kv) => [kv.key, kv.value])));
    assert.deepEqual(stamped, [
      { tenant_id: { stringValue: 'acme' }, env: { stringValue: 'unknown' } },
      { tenant_id: { stringValue: 'default' }, env: { stringValue: 'prod' } },
    ]);
  });
});

describe('migrations file', () => {
  it('parses numbered, ordered sections with placeholders substituted', () => {
    const migrations = parseMigrations(readFileSync('clickhouse-init.sql', 'utf8'), { database: 'telem2', ttlDays: 9 });
    assert.ok(migrations.length >= 1);
    assert.deepEqual(migrations[0]!.version, 1);
    const all = migrations.flatMap((m) => m.statements).join('\n');
    assert.doesNotMatch(all, /\{\{/);
    assert.match(all, /CREATE TABLE IF NOT EXISTS telem2\.spans_raw/);
    assert.match(all, /INTERVAL 9 DAY/);
    // Each statement can run again: creation guarded by IF NOT EXISTS, or an ALTER that sets a view's definer or a table setting (the same value again).
    for (const m of migrations) for (const s of m.statements) assert.match(s, /IF NOT EXISTS|^ALTER TABLE \S+ MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER$|^ALTER TABLE \S+ MODIFY SETTING \w+ = \w+$/, `idempotent: ${s.slice(0, 60)}`);
  });

  it('refuses out-of-order sections and unknown placeholders', () => {
    assert.throws(() => parseMigrations('-- migration: 0002_b\nSELECT 1;\n-- migration: 0001_a\nSELECT 1;\n', { database: 'd', ttlDays: 1 }), /out of order/);
    assert.throws(() => parseMigrations('-- migration: 0001_a\nSELECT {{nope}};\n', { database: 'd', ttlDays: 1 }), /unknown placeholder/);
  });
});
