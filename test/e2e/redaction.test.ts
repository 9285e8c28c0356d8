// The redaction processor in the ingest pipeline, with real SDK spans through Kafka into ClickHouse:
// e-mail addresses masked wherever they appear, API keys and card numbers hashed (equal values
// give equal hashes), prompts dropped for one tenant only, a custom pattern; the Kafka messages
// never hold the raw values; the span says which rules changed it; /metrics counts them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { SpanKind } from '@opentelemetry/api';
import { allExportsSucceeded, sdkClient } from '../harness/agent-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const EMAIL = 'jane.doe@example.com';
const API_KEY = 'sk-proj-4f9XbQ2kLmN8pR7sT1vW3yZ5';
const CARD = '4111 1111 1111 1111';
const NOT_A_CARD = '4111 1111 1111 1112'; // fails Luhn: an order number, left alone

describe('redaction processor (SDK -> receiver -> Kafka -> ClickHouse)', () => {
  let pipeline: TestPipeline;

  before(async () => {
    pipeline = await startTestPipeline(
      'all',
      testConfig({
        processors: {
          attributes: null,
          genai: null,
          redaction: {
            hash_key: 'test-key-0123456789abcdef',
            rules: [
              { name: 'emails', values: 'email', action: 'mask' },
              { name: 'secrets', values: ['api_key', 'card_number'], action: 'hash' },
              { name: 'acme-prompts', keys: 'genai_content', action: 'drop', tenants: ['acme'] },
              { name: 'employee-ids', pattern: 'EMP-\\d{6}', keys: ['app.*'], action: 'mask' },
            ],
          },
        },
        exporters: { clickhouse: null },
        service: {
          pipelines: {
            'traces/ingest': { receivers: ['otlp'], processors: ['attributes', 'redaction'], exporters: ['kafka'] },
            'traces/store': { receivers: ['kafka'], processors: ['genai', 'batch'], exporters: ['clickhouse'] },
          },
        },
      }),
    );
  });
  after(async () => pipeline?.stop());

  async function send(tenant: string): Promise<string> {
    const client = sdkClient({ endpoint: pipeline.url, protocol: 'protobuf', gzip: false, resource: { 'service.name': 'support-agent', 'tenant.id': tenant } });
    const span = client.tracer.startSpan('chat gpt-4o', {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `I am ${EMAIL}, my key is ${API_KEY}` }] }]),
        'user.contact': `reach me at ${EMAIL}`,
        'payment.card': CARD,
        'order.ref': NOT_A_CARD,
        'app.note': 'filed by EMP-123456',
        'other.note': 'EMP-654321 stays: the rule only looks at app.*',
        'billing.key': API_KEY,
      },
    });
    span.addEvent('gen_ai.user.message', { content: `hello from ${EMAIL}` });
    span.end();
    await client.flush();
    await client.shutdown();
    assert.ok(allExportsSucceeded(client));
    return span.spanContext().spanId;
  }

  /** The span's row and its one event's row (two INSERTs, spans_raw first: wait for both). */
  const stored = async (spanId: string): Promise<{ attributes: Record<string, string>; events: string[] }> => {
    const db = pipeline.config.exporters.clickhouse.database;
    let rows: Array<{ attributes: Record<string, string> }> = [];
    let events: Array<{ payload_json: string }> = [];
    await waitFor(
      async () => {
        rows = await pipeline.query(`SELECT attributes FROM ${db}.spans_raw WHERE span_id = {id:String}`, { id: spanId });
        events = await pipeline.query(`SELECT payload_json FROM ${db}.events WHERE span_id = {id:String}`, { id: spanId });
        return rows.length > 0 && events.length > 0;
      },
      30_000,
      'the span and its event stored',
    );
    return { attributes: rows[0]!.attributes, events: events.map((e) => e.payload_json) };
  };

  it('masks, hashes and drops by value and by key, and marks the span', async () => {
    const { attributes: a, events } = await stored(await send('globex'));
    assert.equal(a['user.contact'], 'reach me at [REDACTED:emails]');
    assert.match(a['payment.card']!, /^\[hmac:[0-9a-f]{16}\]$/);
    assert.equal(a['order.ref'], NOT_A_CARD);
    assert.match(a['billing.key']!, /^\[hmac:[0-9a-f]{16}\]$/);
    assert.equal(a['app.note'], 'filed by [REDACTED:employee-ids]');
    assert.equal(a['other.note'], 'EMP-654321 stays: the rule only looks at app.*');
    // Inside the prompt (another tenant than acme: kept, with its secrets redacted).
    const prompt = a['gen_ai.input.messages']!;
    assert.ok(prompt.includes('I am [REDACTED:emails], my key is [hmac:'), prompt);
    assert.ok(prompt.includes(a['billing.key']!), 'the same key hashes to the same value wherever it appears');
    assert.equal(a['tracehouse.redacted'], '["emails","employee-ids","secrets"]');
    assert.equal(events.length, 1);
    assert.ok(!events[0]!.includes(EMAIL) && events[0]!.includes('[REDACTED:emails]'), events[0]);
  });

  it('applies tenant rules to that tenant only: acme loses its prompts', async () => {
    const { attributes: a, events } = await stored(await send('acme'));
    assert.equal(a['gen_ai.input.messages'], undefined);
    assert.equal(a['tracehouse.redacted'], '["acme-prompts","emails","employee-ids","secrets"]');
    assert.ok(events.every((e) => !e.includes('hello from')), 'the gen_ai.user.message content is dropped too');
  });

  it('the raw values never reach Kafka', async () => {
    const kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'redaction-test', logLevel: 0 });
    const consumer = kafka.consumer({ groupId: `redaction-check-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: pipeline.config.exporters.kafka.topic, fromBeginning: true });
    const values: Buffer[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!) });
    await waitFor(async () => values.length >= 2, 30_000, 'both messages read back');
    await consumer.disconnect();
    for (const v of values) {
      for (const secret of [EMAIL, API_KEY, CARD, 'EMP-123456']) assert.ok(!v.includes(secret), `${secret} in a Kafka message`);
    }
  });

  it('counts redactions per rule and action in /metrics', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
    assert.match(metrics, /tracehouse_redactions_total\{action="mask",rule="emails"\} [1-9]/);
    assert.match(metrics, /tracehouse_redactions_total\{action="hash",rule="secrets"\} [1-9]/);
    assert.match(metrics, /tracehouse_redactions_total\{action="drop",rule="acme-prompts"\} [1-9]/);
  });
});
