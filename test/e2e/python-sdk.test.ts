// The real OpenTelemetry Python SDK (scripts/peers/python-sdk.sh) exporting over OTLP/gRPC and
// OTLP/HTTP, plain and gzip, with an API key, through Kafka into ClickHouse: every span it ended is
// stored once with its ids, parentage, times and status, under the key's tenant, priced.
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
const run = promisify(execFile);
const sha = (key: string): string => createHash('sha256').update(key).digest('hex');

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
});
