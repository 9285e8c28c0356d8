// The redaction processor's rules on decoded spans (the attributes processor has stamped each resource's tenant), and its config errors (each naming its YAML path).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redactor, parseRedactionConfig } from '../../services/processors/redaction.js';
import { resolveConfig } from '../../services/config.js';
import { Registry } from '../../services/shared/metrics.js';
import { TENANT_KEY } from '../../services/otlp/attributes.js';
import { type AnyValue, type LogRecord, type LogsData, type TracesData, emptyLogRecord } from '../../services/otlp/model.js';

function traces(tenant: string, attributes: Record<string, AnyValue>): TracesData {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: TENANT_KEY, value: { stringValue: tenant } }], droppedAttributesCount: 0 },
        scopeSpans: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, spans: [{ attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })), events: [] } as never], schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
}
const attrs = (data: TracesData): Record<string, AnyValue> => Object.fromEntries(data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.map((kv) => [kv.key, kv.value]));

function logs(tenant: string, records: Array<Partial<LogRecord>>): LogsData {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: TENANT_KEY, value: { stringValue: tenant } }], droppedAttributesCount: 0 },
        scopeLogs: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, logRecords: records.map((r) => ({ ...emptyLogRecord(), ...r })), schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
}

describe('redaction processor', () => {
  it('redacts log records alike: values in the body and attributes, and a GenAI event body as content', () => {
    const r = new Redactor(parseRedactionConfig({ rules: [{ name: 'mail', values: 'email', action: 'mask' }, { name: 'prompts', keys: 'genai_content', action: 'drop' }] }), new Registry());
    const data = logs('t1', [
      { body: { stringValue: 'login failed for bob@example.com' }, attributes: [{ key: 'user', value: { stringValue: 'alice@example.com' } }] },
      { eventName: 'gen_ai.user.message', body: { kvlistValue: [{ key: 'content', value: { stringValue: 'my secret plan' } }] }, attributes: [{ key: 'gen_ai.provider.name', value: { stringValue: 'openai' } }] },
      { body: { stringValue: 'nothing to hide' } },
    ]);
    r.processLogs(data);
    const [line, event, plain] = data.resourceLogs[0]!.scopeLogs[0]!.logRecords;
    assert.deepEqual(line!.body, { stringValue: 'login failed for [REDACTED:mail]' });
    assert.deepEqual(line!.attributes, [{ key: 'user', value: { stringValue: '[REDACTED:mail]' } }, { key: 'tracehouse.redacted', value: { arrayValue: [{ stringValue: 'mail' }] } }]);
    assert.deepEqual(event!.body, {}, 'a gen_ai.* event body is content: dropped by the genai_content rule');
    assert.deepEqual(event!.attributes.map((kv) => kv.key), ['gen_ai.provider.name', 'tracehouse.redacted']);
    assert.deepEqual(plain!.body, { stringValue: 'nothing to hide' });
    assert.equal(plain!.attributes.length, 0, 'an untouched record gets no marker');
  });

  it('drops an attribute whose value matches, recurses into arrays and maps, and leaves other tenants and types alone', () => {
    const r = new Redactor(parseRedactionConfig({ rules: [{ name: 'mail', values: 'email', action: 'drop' }, { name: 'ssn', pattern: '\\d{3}-\\d{2}-\\d{4}', action: 'mask', tenants: ['t1'] }] }), new Registry());
    const data = traces('t1', {
      a: { stringValue: 'x@y.io' },
      list: { arrayValue: [{ stringValue: 'ok' }, { stringValue: 'ssn 123-45-6789' }] },
      map: { kvlistValue: [{ key: 'k', value: { stringValue: '123-45-6789' } }, { key: 'n', value: { intValue: 5 } }] },
      n: { intValue: 123456789 },
    });
    r.process(data);
    const a = attrs(data);
    assert.equal(a.a, undefined);
    assert.deepEqual(a.list, { arrayValue: [{ stringValue: 'ok' }, { stringValue: 'ssn [REDACTED:ssn]' }] });
    assert.deepEqual(a.map, { kvlistValue: [{ key: 'k', value: { stringValue: '[REDACTED:ssn]' } }, { key: 'n', value: { intValue: 5 } }] });
    assert.deepEqual(a.n, { intValue: 123456789 });
    assert.deepEqual(a['tracehouse.redacted'], { arrayValue: [{ stringValue: 'mail' }, { stringValue: 'ssn' }] });
    const other = traces('t2', { s: { stringValue: '123-45-6789' } });
    r.process(other);
    assert.deepEqual(attrs(other), { s: { stringValue: '123-45-6789' } });
  });

  it('hashes whole values by key with a keyed HMAC: equal inputs group, another key gives another hash', () => {
    const cfg = (key: string) => parseRedactionConfig({ hash_key: key, rules: [{ name: 'ids', keys: ['user.*'], action: 'hash' }] });
    const hashOf = (key: string, v: string): AnyValue => {
      const data = traces('t', { 'user.id': { stringValue: v } });
      new Redactor(cfg(key), new Registry()).process(data);
      return attrs(data)['user.id']!;
    };
    assert.deepEqual(hashOf('k'.repeat(16), 'u-1'), hashOf('k'.repeat(16), 'u-1'));
    assert.notDeepEqual(hashOf('k'.repeat(16), 'u-1'), hashOf('k'.repeat(16), 'u-2'));
    assert.notDeepEqual(hashOf('k'.repeat(16), 'u-1'), hashOf('j'.repeat(16), 'u-1'));
  });

  it('refuses bad rules with the YAML path', () => {
    const bad = (redaction: unknown) => () => parseRedactionConfig(redaction);
    assert.throws(bad({}), /processors\.redaction\.rules must be a non-empty list/);
    assert.throws(bad({ rules: [{ name: 'a', action: 'shred', values: 'email' }] }), /processors\.redaction\.rules\[0\]\.action must be mask, hash or drop/);
    assert.throws(bad({ rules: [{ name: 'a', values: 'phone' }] }), /processors\.redaction\.rules\[0\]\.values: unknown pattern "phone"/);
    assert.throws(bad({ rules: [{ name: 'a', pattern: '(' }] }), /processors\.redaction\.rules\[0\]\.pattern: Invalid regular expression/);
    assert.throws(bad({ rules: [{ name: 'a' }] }), /processors\.redaction\.rules\[0\] needs keys/);
    assert.throws(bad({ rules: [{ name: 'a', values: 'email' }, { name: 'a', values: 'email' }] }), /rules\[1\]\.name: two rules are named a/);
    assert.throws(bad({ rules: [{ name: 'a', keys: 'x', action: 'hash' }] }), /processors\.redaction\.hash_key: the hash action needs a secret/);
    assert.throws(() => resolveConfig({ receivers: { kafka: null }, processors: { redaction: { rules: [{ name: 'a', values: 'email' }] } }, exporters: { clickhouse: null }, service: { pipelines: { traces: { receivers: ['kafka'], processors: ['redaction'], exporters: ['clickhouse'] } } } }, {}), /service\.pipelines\.traces: the redaction processor runs where data is received/);
  });

  it('has its rules checked when a pipeline lists it, and not otherwise (as in the Collector)', () => {
    const sections = { receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } }, processors: { attributes: null, redaction: { rules: [] } }, exporters: { kafka: null } };
    assert.throws(() => resolveConfig({ ...sections, service: { pipelines: { traces: { receivers: ['otlp'], processors: ['attributes', 'redaction'], exporters: ['kafka'] } } } }, { KAFKA_BROKERS: '127.0.0.1:1' }), /^ConfigError: processors\.redaction\.rules must be a non-empty list$/);
    // Configured but in no pipeline: not used, so not refused.
    assert.doesNotThrow(() => resolveConfig({ processors: { redaction: { rules: [] } } }, {}));
  });
});
