// ClickHouse users for Tracehouse, as users.xml (the only access storage a server from libchdb has:
// SQL access DDL is refused there; a real server reads the
// same file). One source renders the managed server's file and the compose stack's
// deploy/clickhouse/users.xml.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config.js';

/** Tables a tenant's read user is restricted to its own rows in. */
export const TENANT_TABLES = ['spans_raw', 'events_raw', 'logs_raw', 'spans_minute', 'llm_minute', 'tool_minute', 'logs_minute', 'trace_index', 'ingest_watermark'] as const;

export type Password = { sha256: string } | { fromEnv: string } | 'none';

export interface UserSpec {
  name: string;
  password: Password;
  /** `readonly` users may run reads only (readonly=2 lets clients set query settings). */
  readonly: boolean;
  /** GRANT statements; none = every right (the admin). */
  grants: string[];
  /** Tenant whose rows alone this user sees. */
  tenant?: string;
  comment: string;
}

export const ADMIN_USER = 'tracehouse_admin';
export const INGEST_USER = 'tracehouse_ingest';
export const READER_USER = 'tracehouse_reader';
export const tenantUser = (tenant: string): string => `tracehouse_tenant_${tenant.replace(/[^A-Za-z0-9_]/g, '_')}`;

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// `--` may not appear inside an XML comment.
const xmlComment = (s: string): string => `<!-- ${xmlText(s).replace(/--/g, '- -')} -->`;
const sqlString = (s: string): string => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;

export function sha256Hex(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

/** The users Tracehouse needs: admin (schema), ingest (INSERT only), reader (SELECT only), one reader per tenant. */
export function tracehouseUsers(database: string, tenants: readonly string[], password: (user: string) => Password): UserSpec[] {
  const db = database;
  return [
    { name: ADMIN_USER, password: password(ADMIN_USER), readonly: false, grants: [], comment: 'Admin: owns the schema (tracehouse migrate).' },
    { name: INGEST_USER, password: password(INGEST_USER), readonly: false, grants: [`GRANT INSERT ON ${db}.*`], comment: 'The consumer: may only insert into the telemetry tables (materialized views included).' },
    { name: READER_USER, password: password(READER_USER), readonly: true, grants: [`GRANT SELECT ON ${db}.*`], comment: 'Grafana and tracehouse query: read only, every tenant.' },
    ...tenants.map((tenant) => ({
      name: tenantUser(tenant),
      password: password(tenantUser(tenant)),
      readonly: true,
      grants: [`GRANT SELECT ON ${db}.*`],
      tenant,
      comment: `Tenant ${tenant}: read only, its own rows.`,
    })),
  ];
}

export function renderUsersXml(users: readonly UserSpec[], database: string, header: string): string {
  const names = new Set<string>();
  for (const u of users) {
    if (names.has(u.name)) throw new ConfigError(`exporters.clickhouse.tenants: two tenants map to the ClickHouse user ${u.name} (non-alphanumeric characters become _)`);
    names.add(u.name);
  }
  const lines = [xmlComment(header), '<clickhouse>', '    <profiles>', '        <default/>', '        <tracehouse_readonly>', '            <readonly>2</readonly>', '        </tracehouse_readonly>', '    </profiles>', '    <quotas><default/></quotas>', '    <users>'];
  for (const u of users) {
    lines.push(`        ${xmlComment(u.comment)}`, `        <${u.name}>`);
    const p = u.password;
    lines.push(p === 'none' ? '            <password></password>' : 'sha256' in p ? `            <password_sha256_hex>${p.sha256}</password_sha256_hex>` : `            <password from_env="${p.fromEnv}"/>`);
    lines.push(`            <networks><ip>${p === 'none' ? '::1' : '::/0'}</ip></networks>`, `            <profile>${u.readonly ? 'tracehouse_readonly' : 'default'}</profile>`, '            <quota>default</quota>');
    if (u.grants.length > 0) lines.push('            <grants>', ...u.grants.map((g) => `                <query>${xmlText(g)}</query>`), '            </grants>');
    if (u.tenant !== undefined) {
      const filter = xmlText(`tenant_id = ${sqlString(u.tenant)}`);
      lines.push('            <databases>', `                <${database}>`, ...TENANT_TABLES.map((t) => `                    <${t}><filter>${filter}</filter></${t}>`), `                </${database}>`, '            </databases>');
    }
    lines.push(`        </${u.name}>`);
  }
  lines.push('    </users>', '</clickhouse>', '');
  return lines.filter((l) => l !== '').join('\n');
}

/** deploy/clickhouse/users.xml: the compose stack's users (its admin comes from the image's CLICKHOUSE_USER), passwords from the container's environment. */
export function deployUsersXml(database = 'telemetry'): string {
  const fromEnv: Record<string, string> = { [INGEST_USER]: 'CLICKHOUSE_INGEST_PASSWORD', [READER_USER]: 'CLICKHOUSE_READER_PASSWORD' };
  const users = tracehouseUsers(database, [], (name) => ({ fromEnv: fromEnv[name] ?? '' })).filter((u) => u.name in fromEnv);
  return renderUsersXml(users, database, 'Generated by `tracehouse clickhouse users-xml` (services/shared/clickhouse/users.ts): mounted into users.d of the compose stack\'s ClickHouse server.');
}

/**
 * The local server's own statements (open the listeners, keep running) run as `default` with no
 * password, and ClickHouse treats every loopback address alike, so any local process can log in as
 * it: it may do nothing but that (no table, file(), url() or other rights).
 */
export const LAUNCH_USER: UserSpec = { name: 'default', password: 'none', readonly: false, grants: ['GRANT SYSTEM LISTEN ON *.*'], comment: 'The server process itself: may only open its listeners.' };

/** Passwords of the managed server: generated once, kept 0600 in the data directory. */
export function managedPasswords(file: string, users: readonly string[]): Record<string, string> {
  const known: Record<string, string> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  let changed = false;
  for (const user of users) {
    if (known[user] === undefined) {
      known[user] = randomBytes(18).toString('base64url');
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(known, null, 2) + '\n', { mode: 0o600 });
  }
  return known;
}
