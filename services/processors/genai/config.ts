// processors.genai: the content cap, the tenants whose content is never stored, and price rows
// that add to or override the shipped table.
import type { Section } from '../../shared/config.js';

/** A configured price, USD per 1M tokens, in force from `effective_from` (a later row for the same model supersedes it). */
export interface ModelPrice {
  provider: string;
  model: string;
  /** Other ids of the same model (dated snapshots are matched without this list). */
  aliases?: string[];
  /** ISO date (UTC) from which this price applies. */
  effective_from: string;
  input: number;
  output: number;
  /** Defaults to input when absent. */
  cache_read?: number;
  /** Defaults to input when absent. */
  cache_write?: number;
  /** Defaults to output when absent. */
  reasoning?: number;
}

export interface GenAiConfig {
  contentMaxBytes: number;
  /** Tenants whose prompt/response content is never stored. */
  noContentTenants: string[];
  prices: ModelPrice[];
}

const PRICE_NUMBERS = ['input', 'output', 'cache_read', 'cache_write', 'reasoning'] as const;

export function parseGenAiConfig(section: Section): GenAiConfig {
  return {
    contentMaxBytes: section.int('content_max_bytes', 16 * 1024, 'TRACEHOUSE_CONTENT_MAX_BYTES'),
    noContentTenants: section.list('no_content_tenants'),
    prices: section.items('prices').map(readPrice),
  };
}

function readPrice(row: Section): ModelPrice {
  const model = row.str('model', '');
  if (model === '') row.fail('model', 'is required');
  const from = row.str('effective_from', '1970-01-01');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) row.fail('effective_from', 'must be YYYY-MM-DD');
  const price: ModelPrice = { provider: row.str('provider', ''), model, aliases: row.list('aliases'), effective_from: from, input: 0, output: 0 };
  for (const key of PRICE_NUMBERS) {
    const v = row.get(key);
    if (v === undefined) {
      if (key === 'input' || key === 'output') row.fail(key, '(USD per 1M tokens) is required');
      continue;
    }
    if (typeof v !== 'number' || !(v >= 0)) row.fail(key, 'must be a non-negative number');
    price[key] = v;
  }
  return price;
}
