// `tracehouse cost explain <trace_id|span_id>`: for every model call of a trace (or one span), its
// tokens by kind times the price each kind pays, the price row used (a configured row or the price
// database's, by provider and model) and the stored cost with its source, so a number on the cost
// dashboard can be traced to the tokens and prices that made it.
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../shared/config-error.js';
import { type PriceTable, costComponents } from '../processors/genai/pricing.js';

interface CallRow {
  span_id: string;
  operation: string;
  provider: string;
  model: string;
  day: string;
  tokens_prompt: string;
  tokens_completion: string;
  tokens_cache_read: string;
  tokens_cache_write: string;
  tokens_reasoning: string;
  cost_usd: string;
  cost_source: string;
  price_version: string;
}

const usd = (v: number): string => `$${v.toFixed(10).replace(/0+$/, '').replace(/\.$/, '.0')}`;

export async function explainCost(client: ClickHouseClient, database: string, id: string, prices: PriceTable): Promise<string> {
  const column = /^[0-9a-f]{32}$/.test(id) ? 'trace_id' : /^[0-9a-f]{16}$/.test(id) ? 'span_id' : null;
  if (column === null) throw new ConfigError(`cost explain takes a trace id (32 hex digits) or a span id (16), got ${JSON.stringify(id)}`);
  const rs = await client.query({
    query: `SELECT span_id, operation, provider, model, toString(toDate(start_ts)) AS day, tokens_prompt, tokens_completion, tokens_cache_read,
                   tokens_cache_write, tokens_reasoning, toString(cost_usd) AS cost_usd, cost_source, price_version
            FROM ${database}.spans_raw WHERE ${column} = {id:String} AND cost_source != '' ORDER BY start_ts, span_id`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  const calls = await rs.json<CallRow>();
  if (calls.length === 0) return `no model calls stored for ${column} ${id}\n`;
  const lines: string[] = [];
  let total = 0;
  for (const c of calls) {
    const usage = { tokens_prompt: Number(c.tokens_prompt), tokens_completion: Number(c.tokens_completion), tokens_cache_read: Number(c.tokens_cache_read), tokens_cache_write: Number(c.tokens_cache_write), tokens_reasoning: Number(c.tokens_reasoning) };
    const stored = Number(c.cost_usd);
    total += stored;
    lines.push(`span ${c.span_id}  ${c.operation}  provider ${c.provider || '-'}  model ${c.model || '-'}  ${c.day}`);
    lines.push(`  stored: ${usd(stored)} (${c.cost_source}${c.price_version ? `, ${c.price_version}` : ''})`);
    if (c.cost_source === 'reported') {
      lines.push('  the instrumentation reported this cost; tokens are not priced');
      continue;
    }
    const rates = prices.rates(c.model, c.provider, c.day, usage.tokens_prompt);
    if (rates === undefined) {
      lines.push('  unpriced: neither processors.genai.prices nor the price database knows this model (add a row to processors.genai.prices)');
      continue;
    }
    lines.push(`  price row: ${rates.source}`);
    let recomputed = 0;
    for (const part of costComponents(usage, rates)) {
      if (part.tokens === 0) continue;
      const cost = (part.tokens * part.usdPerMTok) / 1_000_000;
      recomputed += cost;
      lines.push(`    ${part.name.padEnd(11)} ${String(part.tokens).padStart(9)} tokens x $${part.usdPerMTok}/1M = ${usd(cost)}`);
    }
    lines.push(`    ${'total'.padEnd(11)} ${usd(recomputed)}${Math.abs(recomputed - stored) > 1e-9 ? '  (differs from the stored cost: the prices changed since it was stored)' : ''}`);
  }
  lines.push(`${calls.length} model call${calls.length === 1 ? '' : 's'}, stored cost ${usd(total)}`);
  return `${lines.join('\n')}\n`;
}
