// The real OpenTelemetry Python SDK (scripts/peers/python-sdk.sh) exporting over OTLP/gRPC and
// OTLP/HTTP, plain and gzip, with an API key, through Kafka into ClickHouse: every span it ended is
// stored once with its ids, parentage, times and status, under the key's tenant, priced; and its
// logs exporter's GenAI events and log lines, correlated with those spans, are stored once each in
// events_raw and logs_raw, with logs_minute counting them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { storedRowsSql } from '../harness/agent-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PYTHON = join(ROOT, '.venv-otel/bin/python');
const AGENT = join(ROOT, 'test/harness/python_agent.py');
const LOGS_AGENT = join(ROOT, 'test/harness/python_logs_agent.py');
const run = promisify(execFile);
const sha = (key: string): string => createHash('sha256').update(key).digest('hex');

interface PythonRecord {
  kind: string;
  trace_id: string;
  span_id: string;
  content?: string;
  tokens_prompt?: number;
  body?: string;
}

interface PythonSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  operation: string;
  status_code: string;
  start_ns: string;
  end_ns: string;
}

describe('OpenTelemetry Python SDK -> OTLP/gRPC and OTLP/HTTP -> Kafka -> ClickHouse', () => {
  let pipeline: TestPipeline;

  before(async () => {
    assert.ok(existsSync(PYTHON), `the Python SDK is missing: run scripts/peers/python-sdk.sh (npm test does)`);
    pipeline = await startTestPipeline('all', testConfig({ receivers: { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:0' } } } } }, { TRACEHOUSE_API_KEYS: `${sha('py-key')}:py-tenant` }));
  });
  after(async () => pipeline?.stop());

  for (const [protocol, gzip] of [['grpc', false], ['grpc', true], ['http', true]] as const) {
    it(`stores every span exported over ${protocol}${gzip ? ' + gzip' : ''}, under the API key's tenant`, async () => {
      const endpoint = protocol === 'grpc' ? `127.0.0.1:${pipeline.app.otlpGrpcPort}` : pipeline.url;
      const claimed = `claimed-${protocol}-${gzip}`;
      const { stdout } = await run(PYTHON, [AGENT, protocol, endpoint, claimed, '3', gzip ? 'gzip' : 'plain', 'py-key'], { timeout: 60_000 });
      const emitted = JSON.parse(stdout) as { ok: boolean; spans: PythonSpan[] };
      assert.ok(emitted.ok, 'every export acknowledged');
      assert.equal(emitted.spans.length, 9);
      const traceIds = [...new Set(emitted.spans.map((s) => s.trace_id))];
      const sql = storedRowsSql(pipeline.config.exporters.clickhouse.database);
      let stored: Array<Record<string, unknown>> = [];
      await waitFor(async () => (stored = await pipeline.query(sql, { trace_ids: traceIds })).length >= emitted.spans.length, 30_000, 'the Python spans in ClickHouse');
      await new Promise((r) => setTimeout(r, 500));
      stored = await pipeline.query(sql, { trace_ids: traceIds });
      assert.equal(stored.length, emitted.spans.length, 'each span stored exactly once');
      const bySpan = new Map(stored.map((r) => [r.span_id as string, r]));
      for (const want of emitted.spans) {
        const got = bySpan.get(want.span_id);
        assert.ok(got, `span ${want.span_id} ${want.operation} missing`);
        for (const key of ['trace_id', 'parent_span_id', 'operation', 'status_code', 'start_ns', 'end_ns'] as const) assert.equal(got[key], want[key], `${want.operation}.${key}`);
        assert.equal(got.tenant_id, 'py-tenant', 'the API key names the tenant, whatever the resource claims');
        assert.equal(got.service_name, 'python-agent');
        assert.equal(got.scope_name, 'tracehouse-python-test');
      }
      const chats = await pipeline.query<{ tokens: string; priced: string }>(
        `SELECT sum(tokens_prompt) AS tokens, countIf(cost_source = 'computed' AND cost_usd > 0) AS priced FROM ${pipeline.config.exporters.clickhouse.database}.spans_raw WHERE has({trace_ids: Array(String)}, trace_id) AND gen_ai_operation = 'chat'`,
        { trace_ids: traceIds },
      );
      assert.deepEqual(chats, [{ tokens: String(1000 + 1001 + 1002), priced: '3' }]);
    });
  }

  for (const protocol of ['grpc', 'http'] as const) {
    it(`stores the GenAI events and log lines of the logs exporter over ${protocol}, correlated with their spans, once each`, async () => {
      const endpoint = protocol === 'grpc' ? `127.0.0.1:${pipeline.app.otlpGrpcPort}` : pipeline.url;
      const { stdout } = await run(PYTHON, [LOGS_AGENT, protocol, endpoint, `claimed-logs-${protocol}`, '3', 'py-key'], { timeout: 60_000 });
      const emitted = JSON.parse(stdout) as { ok: boolean; records: PythonRecord[] };
      assert.ok(emitted.ok, 'every logs export acknowledged');
      const traceIds = [...new Set(emitted.records.map((r) => r.trace_id))];
      assert.equal(traceIds.length, 3);
      const db = pipeline.config.exporters.clickhouse.database;
      const eventsSql = `SELECT event_type, trace_id, span_id, tenant_id, service_name, payload_json, model, tokens_prompt FROM ${db}.events WHERE has({trace_ids: Array(String)}, trace_id) AND event_type LIKE 'gen_ai.%' AND operation = '' ORDER BY event_ts`;
      const logsSql = `SELECT body, severity_number, severity_text, trace_id, span_id, tenant_id, attributes['retry.attempt'] AS attempt, attribute_types['retry.attempt'] AS attempt_type, scope_name FROM ${db}.logs_raw WHERE has({trace_ids: Array(String)}, trace_id) ORDER BY timestamp`;
      type EventRow = { event_type: string; trace_id: string; span_id: string; tenant_id: string; service_name: string; payload_json: string; model: string; tokens_prompt: string };
      type LogRow = { body: string; severity_number: number; severity_text: string; trace_id: string; span_id: string; tenant_id: string; attempt: string; attempt_type: string; scope_name: string };
      let events: EventRow[] = [];
      let logs: LogRow[] = [];
      await waitFor(async () => {
        events = await pipeline.query<EventRow>(eventsSql, { trace_ids: traceIds });
        logs = await pipeline.query<LogRow>(logsSql, { trace_ids: traceIds });
        return events.length >= 6 && logs.length >= 3;
      }, 30_000, 'the Python log records in ClickHouse');
      await new Promise((r) => setTimeout(r, 500));
      events = await pipeline.query<EventRow>(eventsSql, { trace_ids: traceIds });
      logs = await pipeline.query<LogRow>(logsSql, { trace_ids: traceIds });
      const wantEvents = emitted.records.filter((r) => r.kind !== 'log');
      const wantLogs = emitted.records.filter((r) => r.kind === 'log');
      assert.equal(events.length, wantEvents.length, 'each GenAI event stored once, in events_raw, and read through the events view');
      assert.equal(logs.length, wantLogs.length, 'each log line stored once, in logs_raw');
      wantEvents.forEach((want, i) => {
        const got = events[i]!;
        assert.deepEqual([got.event_type, got.trace_id, got.span_id, got.tenant_id, got.service_name], [want.kind, want.trace_id, want.span_id, 'py-tenant', 'python-logs-agent']);
        const payload = JSON.parse(got.payload_json) as Record<string, string>;
        if (want.kind === 'gen_ai.user.message') assert.deepEqual([payload.role, payload.content], ['user', want.content]);
        else assert.deepEqual([got.model, Number(got.tokens_prompt)], ['gpt-4o-mini', want.tokens_prompt]);
      });
      wantLogs.forEach((want, i) => {
        const got = logs[i]!;
        assert.deepEqual([got.body, got.severity_number, got.severity_text, got.trace_id, got.span_id, got.tenant_id], [want.body, 13, 'WARN', want.trace_id, want.span_id, 'py-tenant']);
        assert.deepEqual([got.attempt, got.attempt_type], [String(i), 'int']);
      });
      const spans = await pipeline.query<{ n: string }>(`SELECT count() AS n FROM ${db}.spans_raw WHERE has({trace_ids: Array(String)}, trace_id)`, { trace_ids: traceIds });
      assert.deepEqual(spans, [{ n: '3' }], 'the spans the records belong to are stored too');
      const minute = await pipeline.query<{ severity: string; records: string }>(
        `SELECT severity, sum(records) AS records FROM ${db}.logs_minute WHERE tenant_id = 'py-tenant' AND service_name = 'python-logs-agent' GROUP BY severity ORDER BY severity`,
      );
      const raw = await pipeline.query<{ records: string }>(`SELECT count() AS records FROM ${db}.logs_raw WHERE tenant_id = 'py-tenant' AND service_name = 'python-logs-agent'`);
      assert.deepEqual(minute, [{ severity: 'WARN', records: raw[0]!.records }], 'logs_minute counts what logs_raw holds');
    });
  }
});
