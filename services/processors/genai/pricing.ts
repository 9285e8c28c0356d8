// Cost of a model call from its tokens. A reported cost always wins. Otherwise the price comes from
// the rows the user configured (processors.genai.prices, newest effective_from on or before the
// span's day), else from the maintained price database @pydantic/genai-prices (bundled and pinned,
// never fetched: its providers, aliases, dated snapshots and tiered prices). A model neither knows
// is 'unpriced' (never a silent 0). The database's price row is looked up once per provider, model
// and day; the cost of each span is then arithmetic on it.
import { readFileSync } from 'node:fs';
import { calcPrice, findProvider, type ModelPrice as DatabasePrice } from '@pydantic/genai-prices';
import type { ModelPrice } from './config.js';

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

/** The pinned database: its version, and the day that version (and its data) was published. */
export const PRICE_DATABASE = { name: 'genai-prices', version: installedVersion(), published: '2026-09-23' } as const;
/** What price_version says of a computed cost: which database, as of which day. */
export const PRICE_VERSION = `${PRICE_DATABASE.name}@${PRICE_DATABASE.version}/${PRICE_DATABASE.published}`;

function installedVersion(): string {
  const entry = new URL(import.meta.resolve('@pydantic/genai-prices'));
  return (JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as { version: string }).version;
}

/**
 * Lookup key of a model id for configured prices: lower case, without a provider or "models/"
 * prefix, a Bedrock version suffix ("-v1:0") or a date snapshot suffix ("-2024-08-06", "-20250514").
 */
export function modelKey(model: string): string {
  let m = model.trim().toLowerCase();
  m = m.slice(m.lastIndexOf('/') + 1);
  m = m.replace(/^(anthropic|openai|google|meta|mistral|cohere|amazon)\./, '');
  m = m.replace(/-v\d+(:\d+)?$/, '');
  m = m.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');
  return m;
}

/** The database's provider for an OTel gen_ai.provider.name (gcp.vertex_ai, aws.bedrock, azure.ai.openai, ...). */
function databaseProvider(provider: string): string | undefined {
  if (provider === '') return undefined;
  const p = provider.toLowerCase();
  const candidates = p.startsWith('azure') ? ['azure'] : [p, p.slice(p.lastIndexOf('.') + 1)];
  for (const id of candidates) {
    const found = findProvider({ providerId: id });
    if (found) return found.id;
  }
  return undefined;
}

/** USD per 1M tokens of `key` for a request of `inputTokens` (a tiered price applies to the whole request past its start). */
function rate(price: DatabasePrice, key: string, inputTokens: number): number | undefined {
  const v = price[key];
  if (v === undefined || typeof v === 'number') return v;
  let r = v.base;
  for (const tier of v.tiers) if (inputTokens > tier.start) r = tier.price;
  return r;
}

const MAX_CACHED_LOOKUPS = 10_000;
/** Providers that publish their own models, tried in turn for a span that names none (an OpenInference embedding span). */
const FIRST_PARTY_PROVIDERS = ['openai', 'anthropic', 'google', 'mistral', 'cohere', 'deepseek', 'x-ai'];

export class PriceTable {
  private readonly byKey = new Map<string, ModelPrice[]>();
  private readonly lookups = new Map<string, DatabaseRow | null>();
  readonly version: string;

  /** `overrides`: the configured rows; they win over the database for the models they name. */
  constructor(overrides: ModelPrice[] = []) {
    this.version = overrides.length > 0 ? `${PRICE_VERSION}+custom${overrides.length}` : PRICE_VERSION;
    for (const price of overrides) {
      for (const id of [price.model, ...(price.aliases ?? [])]) {
        const key = modelKey(id);
        const rows = (this.byKey.get(key) ?? []).filter((p) => p.effective_from !== price.effective_from);
        rows.push(price);
        rows.sort((a, b) => a.effective_from.localeCompare(b.effective_from));
        this.byKey.set(key, rows);
      }
    }
  }

  /** The configured price in force for `model` on `date` (YYYY-MM-DD), if any. */
  configured(model: string, date: string): ModelPrice | undefined {
    if (this.byKey.size === 0) return undefined;
    const rows = this.byKey.get(modelKey(model));
    if (!rows) return undefined;
    let found: ModelPrice | undefined;
    for (const row of rows) if (row.effective_from <= date) found = row;
    // A call dated before the first configured price still uses that first price.
    return found ?? rows[0];
  }

  /** The database's price row for the model on `date`, looked up once per provider, model and day. */
  private database(model: string, provider: string, date: string): DatabaseRow | null {
    const key = `${provider}\u0000${model}\u0000${date}`;
    let found = this.lookups.get(key);
    if (found === undefined) {
      const providerId = databaseProvider(provider);
      const timestamp = new Date(`${date}T12:00:00Z`);
      // Without a known provider: the database's own matching, then the model's first-party providers.
      const candidates = providerId ? [providerId, undefined] : [undefined, ...FIRST_PARTY_PROVIDERS];
      found = null;
      for (const id of candidates) {
        const result = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: id, timestamp });
        if (result) {
          found = { price: result.model_price, model: result.model.id, provider: result.provider.id };
          break;
        }
      }
      if (this.lookups.size >= MAX_CACHED_LOOKUPS) this.lookups.clear();
      this.lookups.set(key, found);
    }
    return found;
  }

  /** USD per 1M tokens for each kind of token of this call, and where they come from; undefined when unpriced. */
  rates(model: string, provider: string, date: string, promptTokens: number): Rates | undefined {
    if (model === '') return undefined;
    const configured = this.configured(model, date);
    if (configured) {
      return {
        input: configured.input,
        cacheRead: configured.cache_read ?? configured.input,
        cacheWrite: configured.cache_write ?? configured.input,
        output: configured.output,
        reasoning: configured.reasoning ?? configured.output,
        source: `processors.genai.prices: ${configured.provider || '-'} ${configured.model} from ${configured.effective_from}`,
      };
    }
    const row = this.database(model, provider, date);
    const input = row === null ? undefined : rate(row.price, 'input_mtok', promptTokens);
    if (row === null || input === undefined) return undefined;
    const output = rate(row.price, 'output_mtok', promptTokens) ?? 0;
    return {
      input,
      cacheRead: rate(row.price, 'cache_read_mtok', promptTokens) ?? input,
      cacheWrite: rate(row.price, 'cache_write_mtok', promptTokens) ?? input,
      output,
      // The database prices reasoning tokens as output tokens.
      reasoning: output,
      source: `${PRICE_VERSION}: ${row.provider} ${row.model}`,
    };
  }

  cost(model: string, provider: string, date: string, usage: TokenUsage, reported: number | null): Cost {
    if (reported !== null) return { cost_usd: reported, cost_source: 'reported', price_version: '' };
    const rates = this.rates(model, provider, date, usage.tokens_prompt);
    if (rates === undefined) return { cost_usd: 0, cost_source: 'unpriced', price_version: this.version };
    let usd = 0;
    for (const c of costComponents(usage, rates)) usd += c.tokens * c.usdPerMTok;
    return { cost_usd: usd / 1_000_000, cost_source: 'computed', price_version: this.version };
  }
}

export interface Rates {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  /** The price row used, for `tracehouse cost explain`. */
  source: string;
}

interface DatabaseRow {
  price: DatabasePrice;
  model: string;
  provider: string;
}

export interface CostComponent {
  name: 'input' | 'cache read' | 'cache write' | 'output' | 'reasoning';
  tokens: number;
  usdPerMTok: number;
}

/** A call's tokens by the price each kind pays: prompt tokens include cached ones, completion tokens include reasoning. */
export function costComponents(usage: TokenUsage, rates: Rates): CostComponent[] {
  return [
    { name: 'input', tokens: Math.max(0, usage.tokens_prompt - usage.tokens_cache_read - usage.tokens_cache_write), usdPerMTok: rates.input },
    { name: 'cache read', tokens: usage.tokens_cache_read, usdPerMTok: rates.cacheRead },
    { name: 'cache write', tokens: usage.tokens_cache_write, usdPerMTok: rates.cacheWrite },
    { name: 'output', tokens: Math.max(0, usage.tokens_completion - usage.tokens_reasoning), usdPerMTok: rates.output },
    { name: 'reasoning', tokens: usage.tokens_reasoning, usdPerMTok: rates.reasoning },
  ];
}
