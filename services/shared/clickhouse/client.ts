// One ClickHouse client for the whole process: HTTP to a server when CLICKHOUSE_URL is set,
// otherwise the embedded engine (chdb) at the data directory, through the same @clickhouse/client API.
import { mkdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { type Config, ConfigError } from '../config.js';

/**
 * Every setting any call passes per call gets a client-level default here. chdb applies per-call
 * settings as session SETs that persist into later calls: a leaked insert_deduplication_token makes
 * the next, different insert vanish silently (research/clickhouse-embedded-chdb.md).
 */
export const BASE_SETTINGS: ClickHouseSettings = {
  insert_deduplication_token: '',
  // Synchronous inserts: an acknowledged insert is on disk, and dedup tokens apply (chdb defaults to 1).
  async_insert: 0,
  date_time_input_format: 'best_effort',
  // A re-inserted batch (same token) must be dropped from the rollups too, not only from spans_raw.
  deduplicate_blocks_in_dependent_materialized_views: 1,
  output_format_json_quote_64bit_integers: 1,
  // Set per call by `tracehouse backfill` only; reset here so they never leak into ingest (chdb).
  insert_deduplicate: 1,
  mutations_sync: '0',
};

/** An INSERT whose body is already in `format`, sent as bytes: no per-row objects cross the client. */
export interface RawInsert {
  table: string;
  columns: readonly string[];
  format: 'RowBinary';
  body: Buffer;
  /** Applied to this statement only. */
  settings: Record<string, string>;
}

export interface ClickHouseHandle {
  client: ClickHouseClient;
  insertRaw(insert: RawInsert): Promise<void>;
  /** Where the data lives, for log lines: a URL or the embedded data directory. */
  location: string;
  embedded: boolean;
  close(): Promise<void>;
}

function sqlString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function settingName(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse setting name: ${name}`);
  return name;
}

type ConnectionOption = NonNullable<Parameters<typeof createClient>[0]>['connection'];

export async function openClickHouse(cfg: Config['clickhouse']): Promise<ClickHouseHandle> {
  if (cfg.url !== '') {
    const client = createClient({
      url: cfg.url,
      username: cfg.username,
      password: cfg.password,
      clickhouse_settings: BASE_SETTINGS,
      compression: { request: false, response: true },
      request_timeout: 60_000,
    });
    const insertRaw = async (i: RawInsert): Promise<void> => {
      const result = await client.exec({
        query: `INSERT INTO ${i.table} (${i.columns.join(', ')}) FORMAT ${i.format}`,
        values: Readable.from([i.body], { objectMode: false }),
        clickhouse_settings: i.settings,
      });
      // Drain the (empty) response so the HTTP connection goes back to the pool.
      for await (const _ of result.stream) void _;
    };
    return { client, insertRaw, location: cfg.url, embedded: false, close: () => client.close() };
  }
  const path = resolve(cfg.dataDir);
  mkdirSync(path, { recursive: true });
  // chdb (an optional dependency) is loaded only on the embedded path: server images need not carry the engine.
  let chdb: typeof import('chdb/connection');
  try {
    chdb = await import('chdb/connection');
  } catch (err) {
    throw new ConfigError(`embedded ClickHouse needs the optional package chdb (npm install chdb), or set CLICKHOUSE_URL: ${(err as Error).message}`);
  }
  const { createChdbConnection } = chdb;
  const connection = createChdbConnection({ path });
  const client = createClient({
    // @clickhouse/client bundles its own copy of the Connection types, hence the cast.
    connection: connection as unknown as ConnectionOption,
    clickhouse_settings: BASE_SETTINGS,
  });
  // chdb takes inline insert data in text formats only, so a binary body goes through a staging file
  // the engine reads with INSERT ... FROM INFILE. SETTINGS ride on the statement: nothing leaks into
  // the session. Files are removed after each INSERT, and whatever a crash left is removed here.
  const staging = join(path, 'insert-staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  let staged = 0;
  const insertRaw = async (i: RawInsert): Promise<void> => {
    const file = join(staging, `${process.pid}-${++staged}.bin`);
    await writeFile(file, i.body);
    try {
      const settings = Object.entries(i.settings).map(([k, v]) => `${settingName(k)} = ${sqlString(v)}`);
      await connection.chdb.queryAsync(
        `INSERT INTO ${i.table} (${i.columns.join(', ')}) FROM INFILE ${sqlString(file)}` +
          `${settings.length > 0 ? ` SETTINGS ${settings.join(', ')}` : ''} FORMAT ${i.format}`,
      );
    } finally {
      await rm(file, { force: true });
    }
  };
  return { client, insertRaw, location: path, embedded: true, close: () => client.close() };
}
