import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderUsersXml, tenantUser, tracehouseUsers } from '../../services/shared/clickhouse/users.js';

const render = (tenants: string[]): string => renderUsersXml(tracehouseUsers('telemetry', tenants, () => ({ sha256: 'ab' })), 'telemetry', 'test');

describe('users.xml generator', () => {
  it('restricts each tenant user to its tenant in every table, with the tenant id escaped', () => {
    const xml = render(["o'brien"]);
    const user = xml.slice(xml.indexOf(`<${tenantUser("o'brien")}>`), xml.indexOf(`</${tenantUser("o'brien")}>`));
    for (const table of ['spans_raw', 'events_raw', 'spans_minute', 'llm_minute', 'tool_minute', 'trace_index', 'ingest_watermark']) {
      assert.ok(user.includes(`<${table}><filter>tenant_id = 'o\\'brien'</filter></${table}>`), table);
    }
    assert.match(user, /<profile>tracehouse_readonly<\/profile>/);
  });

  it('refuses two tenants that map to one user, and keeps comments valid XML', () => {
    assert.throws(() => render(['a-b', 'a_b']), /exporters\.clickhouse\.tenants: two tenants map to the ClickHouse user tracehouse_tenant_a_b/);
    const comments = render(['x--y']).match(/<!--[\s\S]*?-->/g)!;
    for (const c of comments) assert.doesNotMatch(c.slice(4, -3), /--/);
  });
});
