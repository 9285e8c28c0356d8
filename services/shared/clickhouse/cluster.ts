// The schema on a ClickHouse cluster, rendered from the single-server migrations rather than kept as
// a second copy: every table becomes <name>_local on each node (Replicated*MergeTree) plus a
// Distributed table under the name that inserts and queries use, so the consumer, Grafana and the
// otel_traces view stay unchanged. Materialized views run on each node, from local table to local
// rollup. Rows are sharded by trace id: a trace's spans, events and trace_index row stay on one shard,
// and a retried INSERT splits the same way, so each shard's dedup token drops what it already has.

/** How the statements are rendered for a cluster named in remote_servers. */
export interface ClusterLayout {
  name: string;
  /** ON CLUSTER on every statement (distributed DDL through Keeper); false: the statements each node runs itself. */
  onCluster: boolean;
  /** Replicated*MergeTree local tables (Keeper); false: plain *MergeTree shards without replicas. */
  replicated: boolean;
}

export const LOCAL_SUFFIX = '_local';

/** Tables the consumer inserts into, and how their rows are spread over shards (deterministic: see above). */
const SHARDING_KEYS: Record<string, string> = {
  spans_raw: 'cityHash64(trace_id)',
  events_raw: 'cityHash64(trace_id)',
  logs_raw: 'cityHash64(trace_id, span_id, timestamp)',
};

const q = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The layout's ON CLUSTER clause, with its leading space, or nothing. */
export function onClusterClause(layout: ClusterLayout | undefined): string {
  return layout?.onCluster ? ` ON CLUSTER ${layout.name}` : '';
}

/** The local table engine: `MergeTree` -> `ReplicatedMergeTree(path, replica)` when replicated. */
function localEngine(engine: string, layout: ClusterLayout, path: string): string {
  return layout.replicated ? `Replicated${engine}('${path}', '{replica}')` : engine;
}

/**
 * The cluster form of every migration's statements (all at once: a view altered in one migration
 * was created in another). A statement of a shape this does not know is an error: a new migration
 * must be taught here, never rendered half right.
 */
export function clusterStatements(migrations: readonly (readonly string[])[], database: string, layout: ClusterLayout): string[][] {
  const statements = migrations.flat();
  const db = q(database);
  const createTable = new RegExp(`^CREATE TABLE IF NOT EXISTS ${db}\\.(\\w+)\\s*\\(`);
  const createView = new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}\\.(\\w+) TO ${db}\\.(\\w+)`);
  const tables = new Set(statements.map((s) => createTable.exec(s)?.[1]).filter((t) => t !== undefined));
  const views = statements.map((s) => createView.exec(s)).filter((m) => m !== null);
  const viewNames = new Set(views.map((m) => m[1]!));
  const targets = new Set(views.map((m) => m[2]!));
  const on = onClusterClause(layout);
  // Inside a materialized view, reads and the target are the node's own tables.
  const toLocal = (sql: string): string => sql.replace(new RegExp(`\\b${db}\\.(\\w+)\\b`, 'g'), (m, t: string) => (tables.has(t) ? `${database}.${t}${LOCAL_SUFFIX}` : m));

  const render = (s: string): string[] => {
    if (s === `CREATE DATABASE IF NOT EXISTS ${database}`) return [`${s}${on}`];
    const table = createTable.exec(s)?.[1];
    if (table !== undefined) {
      const engine = /\bENGINE = (\w*MergeTree)\b(?!\s*\()/.exec(s);
      if (engine === null) throw new Error(`cluster layout: ${database}.${table}: only a MergeTree-family engine without arguments can be made replicated`);
      let body = s.slice(s.indexOf('(')).replace(engine[0], `ENGINE = ${localEngine(engine[1]!, layout, '/clickhouse/tables/{shard}/{database}/{table}')}`);
      if (layout.replicated) body = body.replace(/\bnon_replicated_deduplication_window\b/g, 'replicated_deduplication_window');
      const key = SHARDING_KEYS[table];
      if (key === undefined && !targets.has(table)) throw new Error(`cluster layout: ${database}.${table} is neither a materialized view's target nor has a sharding key (cluster.ts)`);
      // A rollup's Distributed table is only read (its view writes the local table): no key needed.
      const args = [`'${layout.name}'`, `'${database}'`, `'${table}${LOCAL_SUFFIX}'`, ...(key === undefined ? [] : [key])];
      return [
        `CREATE TABLE IF NOT EXISTS ${database}.${table}${LOCAL_SUFFIX}${on} ${body}`,
        `CREATE TABLE IF NOT EXISTS ${database}.${table}${on} AS ${database}.${table}${LOCAL_SUFFIX} ENGINE = Distributed(${args.join(', ')})`,
      ];
    }
    const view = createView.exec(s)?.[1];
    if (view !== undefined) return [toLocal(s.replace(`${database}.${view} TO`, `${database}.${view}${on} TO`))];
    const plainView = new RegExp(`^CREATE VIEW IF NOT EXISTS ${db}\\.(\\w+) AS\\b`).exec(s)?.[1];
    // A plain view reads the Distributed tables: it answers for the whole cluster.
    if (plainView !== undefined) return [s.replace(`${database}.${plainView} AS`, `${database}.${plainView}${on} AS`)];
    const altered = new RegExp(`^ALTER TABLE ${db}\\.(\\w+)\\s`).exec(s);
    if (altered !== null) {
      const name = altered[1]!;
      const rest = s.slice(altered[0].length);
      if (viewNames.has(name)) return [`ALTER TABLE ${database}.${name}${on} ${rest}`];
      if (!tables.has(name)) throw new Error(`cluster layout: ALTER of ${database}.${name}, which no migration creates`);
      // Column changes apply to both tables (a Distributed table declares the columns it reads); anything else is storage.
      const columnsOnly = rest.split(/,\s*(?=(?:ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR|MATERIALIZE)\s)/).every((c) => /^(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b/.test(c.trim()));
      const local = `ALTER TABLE ${database}.${name}${LOCAL_SUFFIX}${on} ${rest}`;
      return columnsOnly ? [local, `ALTER TABLE ${database}.${name}${on} ${rest}`] : [local];
    }
    throw new Error(`cluster layout: no cluster form for the statement starting ${JSON.stringify(s.split('\n')[0])} (cluster.ts)`);
  };
  return migrations.map((m) => m.flatMap(render));
}
