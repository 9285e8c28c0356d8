// `tracehouse backfill cost`: after a price change (a new price database, a configured row), the
// cost of the model calls stored in a time range computed again from their token columns, then the
// rollups of that range rebuilt from spans_raw (backfillRollups: delete the range, insert the views'
// own SELECT), so every dashboard agrees with the new prices. Reported costs are left alone. Safe
// to repeat: the same prices give the same costs and the same rollups.
import type { ClickHouseClient } from '@clickhouse/client';
import type { PriceTable } from '../processors/genai/pricing.js';
import { backfillRollups } from './backfill.js';
import { Progress } from './progress.js';

interface CallGroup {
  provider: string;
  model: string;
  day: string;
  prompts: string[];
}

export interface CostBackfillResult {
  groups: number;
  calls: number;
}

/** `values[i]` for `keys[i]` of tokens_prompt: a tiered price depends on the call's prompt size. */
function byPrompt(keys: string[], values: number[]): string {
  return `transform(tokens_prompt, [${keys.join(',')}]::Array(UInt64), [${values.map((v) => v.toString()).join(',')}]::Array(Float64), 0.)`;
}

export async function backfillCost(client: ClickHouseClient, database: string, range: { from: Date; to: Date }, prices: PriceTable): Promise<CostBackfillResult> {
  const inRange = 'start_ts >= fromUnixTimestamp64Milli({from:Int64}) AND start_ts < fromUnixTimestamp64Milli({to:Int64})';
  const params = { from: range.from.getTime(), to: range.to.getTime() };
  const rs = await client.query({
    query: `SELECT provider, model, toString(toDate(start_ts)) AS day, arrayMap(x -> toString(x), groupUniqArray(tokens_prompt)) AS prompts
            FROM ${database}.spans_raw WHERE ${inRange} AND cost_source IN ('computed', 'unpriced') GROUP BY provider, model, day ORDER BY day, provider, model`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const groups = await rs.json<CallGroup>();
  const progress = new Progress('backfill cost', groups.length, 'model-days');
  let calls = 0;
  for (const [i, g] of groups.entries()) {
    const rates = g.prompts.map((p) => prices.rates(g.model, g.provider, g.day, Number(p)));
    const priced = rates.every((r) => r !== undefined);
    const rate = (pick: (r: NonNullable<(typeof rates)[number]>) => number): string => {
      const values = rates.map((r) => (r === undefined ? 0 : pick(r)));
      // Untiered prices (the usual case) are one number whatever the prompt size.
      return values.every((v) => v === values[0]) ? `${values[0]!.toString()}` : byPrompt(g.prompts, values);
    };
    const cost = priced
      ? `toDecimal64((greatest(toInt64(tokens_prompt) - toInt64(tokens_cache_read) - toInt64(tokens_cache_write), 0) * ${rate((r) => r.input)}
           + tokens_cache_read * ${rate((r) => r.cacheRead)} + tokens_cache_write * ${rate((r) => r.cacheWrite)}
           + greatest(toInt64(tokens_completion) - toInt64(tokens_reasoning), 0) * ${rate((r) => r.output)}
           + tokens_reasoning * ${rate((r) => r.reasoning)}) / 1000000, 10)`
      : 'toDecimal64(0, 10)';
    const where = `${inRange} AND provider = {provider:String} AND model = {model:String} AND toDate(start_ts) = {day:Date} AND cost_source IN ('computed', 'unpriced')`;
    const countRs = await client.query({ query: `SELECT count() AS n FROM ${database}.spans_raw WHERE ${where}`, query_params: { ...params, ...g }, format: 'JSONEachRow' });
    calls += Number(((await countRs.json()) as Array<{ n: string }>)[0]!.n);
    await client.command({
      query: `ALTER TABLE ${database}.spans_raw UPDATE cost_usd = ${cost}, cost_source = {source:String}, price_version = {version:String} WHERE ${where}`,
      query_params: { ...params, ...g, source: priced ? 'computed' : 'unpriced', version: prices.version },
      // A tiered model's per-prompt-size rates can make a long statement.
      clickhouse_settings: { mutations_sync: '2', max_query_size: String(64 * 1024 * 1024) },
    });
    progress.update(i + 1, `${g.day} ${g.provider || '-'} ${g.model || '-'}`);
  }
  progress.done(`${calls} model calls in ${groups.length} model-days re-priced`);
  await backfillRollups(client, database, range);
  return { groups: groups.length, calls };
}
