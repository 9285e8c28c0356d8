// Cost of a model call from its tokens and the price table. A reported cost always wins; a call to
// a model the table does not know is 'unpriced' (never a silent 0).
import { MODEL_PRICES, type ModelPrice, PRICE_VERSION } from './price-table.js';

export type CostSource = 'reported' | 'computed' | 'unpriced' | '';

export interface Cost {
  cost_usd: number;
  cost_source: CostSource;
  price_version: string;
}

export interface TokenUsage {
  tokens_prompt: number;
  tokens_completion: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  tokens_reasoning: number;
}

/**
 * Lookup key of a model id: lower case, without a provider or "models/" prefix, a Bedrock version
 * suffix ("-v1:0") or a date snapshot suffix ("-2024-08-06", "-20250514").
 */
export function modelKey(model: string): string {
  let m = model.trim().toLowerCase();
  m = m.slice(m.lastIndexOf('/') + 1);
  m = m.replace(/^(anthropic|openai|google|meta|mistral|cohere|amazon)\./, '');
  m = m.replace(/-v\d+(:\d+)?$/, '');
  m = m.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');
  return m;
}

export class PriceTable {
  private readonly byKey = new Map<string, ModelPrice[]>();
  readonly version: string;

  /** `overrides` come after the shipped rows: same model and date replaces, new ones add. */
  constructor(overrides: ModelPrice[] = [], shipped: ModelPrice[] = MODEL_PRICES) {
    this.version = overrides.length > 0 ? `${PRICE_VERSION}+custom${overrides.length}` : PRICE_VERSION;
    for (const price of [...shipped, ...overrides]) {
      for (const id of [price.model, ...(price.aliases ?? [])]) {
        const key = modelKey(id);
        const rows = (this.byKey.get(key) ?? []).filter((p) => p.effective_from !== price.effective_from);
        rows.push(price);
        rows.sort((a, b) => a.effective_from.localeCompare(b.effective_from));
        this.byKey.set(key, rows);
      }
    }
  }

  /** The price in force for `model` on `date` (YYYY-MM-DD), if any. */
  find(model: string, date: string): ModelPrice | undefined {
    const rows = this.byKey.get(modelKey(model));
    if (!rows) return undefined;
    let found: ModelPrice | undefined;
    for (const row of rows) if (row.effective_from <= date) found = row;
    // A call dated before the first known price still uses that first price.
    return found ?? rows[0];
  }

  cost(model: string, date: string, usage: TokenUsage, reported: number | null): Cost {
    if (reported !== null) return { cost_usd: reported, cost_source: 'reported', price_version: '' };
    const price = model === '' ? undefined : this.find(model, date);
    if (!price) return { cost_usd: 0, cost_source: 'unpriced', price_version: this.version };
    const uncachedInput = Math.max(0, usage.tokens_prompt - usage.tokens_cache_read - usage.tokens_cache_write);
    const plainOutput = Math.max(0, usage.tokens_completion - usage.tokens_reasoning);
    const usd =
      (uncachedInput * price.input +
        usage.tokens_cache_read * (price.cache_read ?? price.input) +
        usage.tokens_cache_write * (price.cache_write ?? price.input) +
        plainOutput * price.output +
        usage.tokens_reasoning * (price.reasoning ?? price.output)) /
      1_000_000;
    return { cost_usd: usd, cost_source: 'computed', price_version: this.version };
  }
}
