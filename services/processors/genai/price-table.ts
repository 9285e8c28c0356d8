// Model prices shipped with Tracehouse, USD per 1M tokens. Add a row (never edit one) when a price
// changes: `effective_from` picks the price in force on the span's start date. Users add or override
// rows in otel-collector.yaml (processors.genai.prices) without touching code.
// Sources: the providers' public price pages as of PRICE_VERSION.

export const PRICE_VERSION = '2025-09-01';

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

export const MODEL_PRICES: ModelPrice[] = [
  { provider: 'openai', model: 'gpt-4o', aliases: ['chatgpt-4o-latest'], effective_from: '2024-08-06', input: 2.5, cache_read: 1.25, output: 10 },
  { provider: 'openai', model: 'gpt-4o-mini', effective_from: '2024-07-18', input: 0.15, cache_read: 0.075, output: 0.6 },
  { provider: 'openai', model: 'gpt-4.1', effective_from: '2025-04-14', input: 2, cache_read: 0.5, output: 8 },
  { provider: 'openai', model: 'gpt-4.1-mini', effective_from: '2025-04-14', input: 0.4, cache_read: 0.1, output: 1.6 },
  { provider: 'openai', model: 'gpt-4.1-nano', effective_from: '2025-04-14', input: 0.1, cache_read: 0.025, output: 0.4 },
  { provider: 'openai', model: 'gpt-5', effective_from: '2025-08-07', input: 1.25, cache_read: 0.125, output: 10 },
  { provider: 'openai', model: 'gpt-5-mini', effective_from: '2025-08-07', input: 0.25, cache_read: 0.025, output: 2 },
  { provider: 'openai', model: 'o3', effective_from: '2025-04-16', input: 10, cache_read: 2.5, output: 40 },
  { provider: 'openai', model: 'o3', effective_from: '2025-06-10', input: 2, cache_read: 0.5, output: 8 },
  { provider: 'openai', model: 'o4-mini', effective_from: '2025-04-16', input: 1.1, cache_read: 0.275, output: 4.4 },
  { provider: 'openai', model: 'text-embedding-3-small', effective_from: '2024-01-25', input: 0.02, output: 0 },
  { provider: 'openai', model: 'text-embedding-3-large', effective_from: '2024-01-25', input: 0.13, output: 0 },
  { provider: 'anthropic', model: 'claude-opus-4', aliases: ['claude-opus-4-0'], effective_from: '2025-05-22', input: 15, cache_read: 1.5, cache_write: 18.75, output: 75 },
  { provider: 'anthropic', model: 'claude-opus-4-1', effective_from: '2025-08-05', input: 15, cache_read: 1.5, cache_write: 18.75, output: 75 },
  { provider: 'anthropic', model: 'claude-sonnet-4', aliases: ['claude-sonnet-4-0'], effective_from: '2025-05-22', input: 3, cache_read: 0.3, cache_write: 3.75, output: 15 },
  { provider: 'anthropic', model: 'claude-3-7-sonnet', aliases: ['claude-3-7-sonnet-latest'], effective_from: '2025-02-24', input: 3, cache_read: 0.3, cache_write: 3.75, output: 15 },
  { provider: 'anthropic', model: 'claude-3-5-haiku', aliases: ['claude-3-5-haiku-latest'], effective_from: '2024-10-22', input: 0.8, cache_read: 0.08, cache_write: 1, output: 4 },
  { provider: 'google', model: 'gemini-2.5-pro', effective_from: '2025-06-17', input: 1.25, cache_read: 0.31, output: 10 },
  { provider: 'google', model: 'gemini-2.5-flash', effective_from: '2025-06-17', input: 0.3, cache_read: 0.075, output: 2.5 },
  { provider: 'google', model: 'gemini-2.0-flash', effective_from: '2025-02-05', input: 0.1, cache_read: 0.025, output: 0.4 },
  { provider: 'mistral', model: 'mistral-large', aliases: ['mistral-large-latest'], effective_from: '2024-11-18', input: 2, output: 6 },
];
