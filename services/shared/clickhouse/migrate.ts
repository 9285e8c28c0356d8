// Numbered, idempotent schema migrations from clickhouse-init.sql. Each `-- migration: NNNN_name`
// section runs once and is recorded in <database>.schema_migrations; every statement is itself
// idempotent (IF NOT EXISTS), so a partly applied section is safe to run again.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import { type ClusterLayout, clusterStatements, onClusterClause } from './cluster.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

export interface SchemaParams {
  database: string;
  ttlDays: number;
  /** A cluster of remote_servers: the schema in its cluster form (cluster.ts), applied ON CLUSTER; empty: one server. */
  cluster?: string;
}

/** The layout migrate() applies for `params`: ON CLUSTER with replicated tables when a cluster is named. */
export function schemaLayout(params: SchemaParams): ClusterLayout | undefined {
  return params.cluster ? { name: params.cluster, onCluster: true, replicated: true } : undefined;
}

export const INIT_SQL_PATH = join(dirname(fileURLToPath(import.meta.url)), '../../../../clickhouse-init.sql');

/** Splits the init file into numbered migrations, substituting {{database}} and {{ttl_days}}. */
export function parseMigrations(sql: string, params: SchemaParams): Migration[] {
  const substituted = sql.replace(/\{\{(\w+)\}\}/g, (m, key: string) => {
    if (key === 'database') return params.database;
    if (key === 'ttl_days') return String(params.ttlDays);
    throw new Error(`clickhouse-init.sql: unknown placeholder ${m}`);
  });
  const migrations: Migration[] = [];
  const header = /^-- migration: (\d{4})_(\w+)\s*$/gm;
  const marks = [...substituted.matchAll(header)];
  marks.forEach((m, i) => {
    const body = substituted.slice(m.index! + m[0].length, i + 1 < marks.length ? marks[i + 1]!.index : substituted.length);
    const statements = body
      .split(/;\s*$/m)
      .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
      .filter((s) => s.length > 0);
    const version = Number(m[1]);
    if (migrations.length > 0 && version <= migrations[migrations.length - 1]!.version) {
      throw new Error(`clickhouse-init.sql: migration ${m[1]} is out of order`);
    }
    migrations.push({ version, name: m[2]!, statements, checksum: createHash('sha256').update(statements.join(';\n')).digest('hex').slice(0, 16) });
  });
  return migrations;
}

/** The statements migrate() runs, per migration, in `layout`'s form when given. */
export function renderMigrations(params: SchemaParams, layout: ClusterLayout | undefined): Migration[] {
  const migrations = parseMigrations(readFileSync(INIT_SQL_PATH, 'utf8'), params);
  if (layout === undefined) return migrations;
  const rendered = clusterStatements(migrations.map((m) => m.statements), params.database, layout);
  return migrations.map((m, i) => ({ ...m, statements: rendered[i]! }));
}

/** What migrate() runs before reading what was applied: the database and the schema_migrations table. */
export function bootstrapStatements(database: string, layout: ClusterLayout | undefined): string[] {
  const on = onClusterClause(layout);
  // On a cluster, one replica group over every node (no {shard} in the path): any node knows what was applied.
  const engine = layout?.replicated ? `ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')` : 'MergeTree';
  return [
    `CREATE DATABASE IF NOT EXISTS ${database}${on}`,
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations${on} (version UInt32, name String, checksum String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = ${engine} ORDER BY version`,
  ];
}

/**
 * Applies what is not applied yet. With a cluster (`layout`, by default from params.cluster) every
 * statement carries ON CLUSTER, so one node applies it to all; `{ onCluster: false }` applies one
 * node's part, to be run on each node.
 */
export async function migrate(client: ClickHouseClient, params: SchemaParams, log: Logger, layout = schemaLayout(params)): Promise<number[]> {
  const migrations = renderMigrations(params, layout);
  const db = params.database;
  for (const query of bootstrapStatements(db, layout)) await client.command({ query });
  const rs = await client.query({ query: `SELECT DISTINCT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: number | string }>()).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: `${db}.schema_migrations`, format: 'JSONEachRow', values: [{ version: m.version, name: m.name, checksum: m.checksum }] });
    log.info('migration applied', { version: m.version, name: m.name, statements: m.statements.length });
    applied.push(m.version);
  }
  return applied;
}
