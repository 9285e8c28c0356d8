// The redaction processor: before spans leave the receiver (so raw content never reaches Kafka or
// ClickHouse), values are masked, hashed or dropped by rules on the attribute key (globs, or
// `genai_content`: prompts, completions, tool arguments and results in every dialect) and on the
// value (e-mail addresses, API keys, card numbers, or a regex of your own), per tenant. Hashes are
// keyed HMAC-SHA256, so equal values still group without being readable. A redacted span carries
// `tracehouse.redacted` with the names of the rules that changed it. Log records are redacted alike:
// their attributes, and their body as if it were an attribute named `body` (content in a gen_ai.*
// event).
import { createHmac } from 'node:crypto';
import { STATELESS, type LogsConsumer, type ProcessorFactory, type TracesConsumer } from '../component/component.js';
import { ConfigError, type Section } from '../shared/config.js';
import type { Counter, Registry } from '../shared/metrics.js';
import { TENANT_KEY } from '../otlp/attributes.js';
import { isContentKey } from './genai/content.js';
import { type AnyValue, type KeyValue, type LogsData, type Resource, type TracesData, eventNameOf } from '../otlp/model.js';

export type RedactionAction = 'mask' | 'hash' | 'drop';

export interface RedactionRule {
  name: string;
  action: RedactionAction;
  /** Which attributes the rule looks at (null: every string attribute). */
  keys: ((key: string, eventName: string) => boolean) | null;
  /** What it replaces inside them (null: the whole value). */
  values: RegExp | null;
  /** A second look at a match (card numbers must pass Luhn); null accepts every match. */
  accept: ((match: string) => boolean) | null;
  /** Tenants it applies to (empty: all). */
  tenants: string[];
}

export interface RedactionConfig {
  rules: RedactionRule[];
  hashKey: string;
}

const REDACTED_MARKER = 'tracehouse.redacted';

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1 && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Named value patterns; card numbers are checked with Luhn so order ids and timestamps pass. */
const BUILTIN_VALUES: Record<string, { pattern: RegExp; accept?: (match: string) => boolean }> = {
  email: { pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  api_key: { pattern: /\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{16,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}\b/g },
  card_number: { pattern: /\b\d(?:[ -]?\d){12,18}\b/g, accept: (m) => luhn(m.replace(/[ -]/g, '')) },
};

function globToPredicate(globs: string[]): (key: string, eventName: string) => boolean {
  const exact = globs.filter((g) => g !== 'genai_content').map((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  const content = globs.includes('genai_content');
  return (key, eventName) => (content && isContentKey(key, eventName)) || exact.some((re) => re.test(key));
}

type Node = Record<string, unknown>;

function list(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`${where} must be a string or a list of strings`);
  return v as string[];
}

/** processors.redaction, validated here where it is defined. */
export function parseRedactionConfig(raw: unknown, path = 'processors.redaction'): RedactionConfig {
  const n = (typeof raw === 'object' && raw !== null ? raw : {}) as Node;
  const rulesRaw = n.rules ?? [];
  if (!Array.isArray(rulesRaw) || rulesRaw.length === 0) throw new ConfigError(`${path}.rules must be a non-empty list`);
  const names = new Set<string>();
  const rules = rulesRaw.map((r: unknown, i): RedactionRule => {
    const where = `${path}.rules[${i}]`;
    const rule = (typeof r === 'object' && r !== null ? r : {}) as Node;
    const name = typeof rule.name === 'string' && /^[A-Za-z0-9_.-]+$/.test(rule.name) ? rule.name : '';
    if (name === '') throw new ConfigError(`${where}.name is required (letters, digits, _ . -)`);
    if (names.has(name)) throw new ConfigError(`${where}.name: two rules are named ${name}`);
    names.add(name);
    const action = rule.action ?? 'mask';
    if (action !== 'mask' && action !== 'hash' && action !== 'drop') throw new ConfigError(`${where}.action must be mask, hash or drop, got ${JSON.stringify(action)}`);
    const keys = list(rule.keys, `${where}.keys`);
    const builtins = list(rule.values, `${where}.values`);
    for (const b of builtins) if (!(b in BUILTIN_VALUES)) throw new ConfigError(`${where}.values: unknown pattern "${b}" (built in: ${Object.keys(BUILTIN_VALUES).join(', ')}; or set pattern: to a regex)`);
    const sources = builtins.map((b) => BUILTIN_VALUES[b]!.pattern.source);
    if (rule.pattern !== undefined) {
      if (typeof rule.pattern !== 'string') throw new ConfigError(`${where}.pattern must be a regular expression string`);
      try {
        new RegExp(rule.pattern);
      } catch (err) {
        throw new ConfigError(`${where}.pattern: ${(err as Error).message}`);
      }
      sources.push(rule.pattern);
    }
    if (keys.length === 0 && sources.length === 0) throw new ConfigError(`${where} needs keys (attribute globs, or genai_content) or values / pattern`);
    const values = sources.length > 0 ? new RegExp(sources.map((s) => `(?:${s})`).join('|'), 'g') : null;
    const checked = builtins.map((b) => BUILTIN_VALUES[b]!).filter((b) => b.accept !== undefined).map((b) => ({ whole: new RegExp(`^(?:${b.pattern.source})$`), accept: b.accept! }));
    const accept = checked.length > 0 ? (m: string) => checked.every((c) => !c.whole.test(m) || c.accept(m)) : null;
    return { name, action, keys: keys.length > 0 ? globToPredicate(keys) : null, values, accept, tenants: list(rule.tenants, `${where}.tenants`) };
  });
  const hashKey = typeof n.hash_key === 'string' ? n.hash_key : '';
  if (rules.some((r) => r.action === 'hash') && hashKey.length < 16) throw new ConfigError(`${path}.hash_key: the hash action needs a secret of at least 16 characters (e.g. hash_key: \${env:TRACEHOUSE_REDACTION_KEY})`);
  return { rules, hashKey };
}

function redactedMarker(applied: Set<string>): KeyValue {
  return { key: REDACTED_MARKER, value: { arrayValue: [...applied].sort().map((stringValue) => ({ stringValue })) } };
}

export class Redactor {
  private readonly redactions: Counter;

  constructor(
    private readonly cfg: RedactionConfig,
    registry: Registry,
  ) {
    this.redactions = registry.counter('tracehouse_redactions_total', 'Values redacted by the redaction processor, by rule and action.');
  }

  /** Redacts `data` in place (after the attributes processor stamped each resource's tenant). */
  process(data: TracesData): void {
    for (const rs of data.resourceSpans) {
      const rules = this.rulesFor(rs.resource);
      if (rules.length === 0) continue;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const applied = new Set<string>();
          span.attributes = this.redactAttributes(span.attributes, '', rules, applied);
          for (const event of span.events) event.attributes = this.redactAttributes(event.attributes, event.name, rules, applied);
          if (applied.size > 0) span.attributes.push(redactedMarker(applied));
        }
      }
    }
  }

  processLogs(data: LogsData): void {
    for (const rl of data.resourceLogs) {
      const rules = this.rulesFor(rl.resource);
      if (rules.length === 0) continue;
      for (const sl of rl.scopeLogs) {
        for (const record of sl.logRecords) {
          const applied = new Set<string>();
          const eventName = eventNameOf(record);
          record.body = this.redactAttributes([{ key: 'body', value: record.body }], eventName, rules, applied)[0]?.value ?? {};
          record.attributes = this.redactAttributes(record.attributes, eventName, rules, applied);
          if (applied.size > 0) record.attributes.push(redactedMarker(applied));
        }
      }
    }
  }

  private rulesFor(resource: Resource): RedactionRule[] {
    const tenantValue = resource.attributes.find((kv) => kv.key === TENANT_KEY)?.value;
    const tenant = tenantValue !== undefined && 'stringValue' in tenantValue ? tenantValue.stringValue : '';
    return this.cfg.rules.filter((r) => r.tenants.length === 0 || r.tenants.includes(tenant));
  }

  private redactAttributes(attrs: KeyValue[], eventName: string, rules: RedactionRule[], applied: Set<string>): KeyValue[] {
    const kept: KeyValue[] = [];
    for (const kv of attrs) {
      let value: AnyValue | null = kv.value;
      for (const rule of rules) {
        if (value === null) break;
        if (rule.keys !== null && !rule.keys(kv.key, eventName)) continue;
        const next: AnyValue | null = rule.values === null ? this.wholeValue(rule, value) : this.matches(rule, value);
        if (next !== value) {
          applied.add(rule.name);
          this.redactions.inc({ rule: rule.name, action: rule.action });
        }
        value = next;
      }
      if (value !== null) kept.push(value === kv.value ? kv : { key: kv.key, value });
    }
    return kept;
  }

  private wholeValue(rule: RedactionRule, value: AnyValue): AnyValue | null {
    if (rule.action === 'drop') return null;
    if (rule.action === 'mask') return { stringValue: '[REDACTED]' };
    return { stringValue: this.hash(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) };
  }

  /** The value with each match of the rule's pattern replaced (recursing into arrays and maps); the same object when nothing matched. */
  private matches(rule: RedactionRule, value: AnyValue): AnyValue | null {
    if ('stringValue' in value) {
      let hit = false;
      const replaced = value.stringValue.replace(rule.values!, (m) => {
        if (rule.accept !== null && !rule.accept(m)) return m;
        hit = true;
        return rule.action === 'hash' ? this.hash(m) : `[REDACTED:${rule.name}]`;
      });
      if (!hit) return value;
      return rule.action === 'drop' ? null : { stringValue: replaced };
    }
    if ('arrayValue' in value) {
      const items = value.arrayValue.map((v) => this.matches(rule, v));
      if (items.every((v, i) => v === value.arrayValue[i])) return value;
      return rule.action === 'drop' ? null : { arrayValue: items.filter((v): v is AnyValue => v !== null) };
    }
    if ('kvlistValue' in value) {
      const items = value.kvlistValue.map((kv) => ({ key: kv.key, value: this.matches(rule, kv.value) }));
      if (items.every((kv, i) => kv.value === value.kvlistValue[i]!.value)) return value;
      return rule.action === 'drop' ? null : { kvlistValue: items.filter((kv): kv is KeyValue => kv.value !== null) };
    }
    return value;
  }

  private hash(text: string): string {
    return `[hmac:${createHmac('sha256', this.cfg.hashKey).update(text).digest('hex').slice(0, 16)}]`;
  }
}

export const redactionProcessorFactory = {
  kind: 'processor',
  type: 'redaction' as const,
  kinds: { traces: 'traces', logs: 'logs' },
  // Its default (no section) redacts nothing; a written section must say what to redact.
  parseConfig: (section: Section): RedactionConfig => (section.raw === undefined ? { rules: [], hashKey: '' } : parseRedactionConfig(section.raw, section.path)),
  create: async (settings, next, input) => {
    const redactor = new Redactor(settings.config, settings.registry);
    // No `encoded`: every request is decoded so that its attributes can be read.
    if (input === 'logs') {
      const logs = next as LogsConsumer;
      const consumer: LogsConsumer = {
        consumeLogs: (data, ctx) => {
          redactor.processLogs(data);
          return logs.consumeLogs(data, ctx);
        },
      };
      return { ...STATELESS, ...consumer };
    }
    const traces = next as TracesConsumer;
    const consumer: TracesConsumer = {
      consumeTraces: (data, ctx) => {
        redactor.process(data);
        return traces.consumeTraces(data, ctx);
      },
    };
    return { ...STATELESS, ...consumer };
  },
} satisfies ProcessorFactory<RedactionConfig>;
