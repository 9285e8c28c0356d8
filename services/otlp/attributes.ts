// Attribute values as stored (Map(String, String) text) and the tenancy a resource belongs to.
import type { AnyValue, KeyValue } from './model.js';

export interface TenancyDefaults {
  tenant: string;
  env: string;
}

/** Resource keys the receiver stamps (attributes processor) and the consumer reads first. */
export const TENANT_KEY = 'tenant_id';
export const ENV_KEY = 'env';
const TENANT_SOURCES = [TENANT_KEY, 'tenant.id'];
const ENV_SOURCES = [ENV_KEY, 'deployment.environment.name', 'deployment.environment'];

function firstString(attrs: KeyValue[], keys: string[]): string {
  for (const key of keys) {
    for (const kv of attrs) {
      if (kv.key === key) {
        const s = anyValueToString(kv.value);
        if (s !== '') return s;
      }
    }
  }
  return '';
}

/** Tenant and environment of a resource: stamped keys first, then the OTel resource conventions, then defaults. */
export function resolveTenancy(resourceAttrs: KeyValue[], defaults: TenancyDefaults): TenancyDefaults {
  return {
    tenant: firstString(resourceAttrs, TENANT_SOURCES) || defaults.tenant,
    env: firstString(resourceAttrs, ENV_SOURCES) || defaults.env,
  };
}

export function anyValueToString(v: AnyValue): string {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue ? 'true' : 'false';
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('bytesValue' in v) return Buffer.from(v.bytesValue).toString('base64');
  if ('arrayValue' in v || 'kvlistValue' in v) return JSON.stringify(anyValueToPlain(v));
  return '';
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function anyValueToPlain(v: AnyValue): Plain {
  if ('arrayValue' in v) return v.arrayValue.map(anyValueToPlain);
  if ('kvlistValue' in v) {
    const out: { [k: string]: Plain } = {};
    for (const kv of v.kvlistValue) out[kv.key] = anyValueToPlain(kv.value);
    return out;
  }
  if ('boolValue' in v) return v.boolValue;
  if ('doubleValue' in v) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if ('intValue' in v) return typeof v.intValue === 'bigint' ? v.intValue.toString() : v.intValue;
  if ('stringValue' in v || 'bytesValue' in v) return anyValueToString(v);
  return null;
}

export function attributesToMap(attrs: KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attrs) out[kv.key] = anyValueToString(kv.value);
  return out;
}

/** An AnyValue in the OTLP/JSON mapping (64-bit ints as strings, bytes as base64): exact for any value. */
export function anyValueJson(v: AnyValue): unknown {
  if ('stringValue' in v) return { stringValue: v.stringValue };
  if ('boolValue' in v) return { boolValue: v.boolValue };
  if ('intValue' in v) return { intValue: String(v.intValue) };
  if ('doubleValue' in v) return { doubleValue: Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue) };
  if ('bytesValue' in v) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') };
  if ('arrayValue' in v) return { arrayValue: { values: v.arrayValue.map(anyValueJson) } };
  if ('kvlistValue' in v) return { kvlistValue: { values: v.kvlistValue.map((kv) => ({ key: kv.key, value: anyValueJson(kv.value) })) } };
  return {};
}

/**
 * What the attribute text (attributesToMap) cannot say about each value's type, by key: strings,
 * the common case, are absent; int / double / bool / bytes / empty name the scalar type of the
 * text; arrays and kvlists carry their exact OTLP/JSON value, whose text is plain JSON. Only keys
 * of `kept` are described (the content policy may have dropped some).
 */
export function attributeTypes(attrs: KeyValue[], kept: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const { key, value } of attrs) {
    if ('stringValue' in value || !(key in kept)) continue;
    const type =
      'intValue' in value ? 'int'
      : 'doubleValue' in value ? 'double'
      : 'boolValue' in value ? 'bool'
      : 'bytesValue' in value ? 'bytes'
      : 'arrayValue' in value || 'kvlistValue' in value ? JSON.stringify(anyValueJson(value))
      : 'empty';
    (out ??= {})[key] = type;
  }
  return out ?? NO_TYPES;
}

/** Shared by the rows of attribute lists that are all strings (never mutated). */
const NO_TYPES: Record<string, string> = Object.freeze({}) as Record<string, string>;
