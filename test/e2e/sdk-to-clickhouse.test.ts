// Real OpenTelemetry SDK clients -> OTLP/HTTP and OTLP/gRPC receiver -> real Kafka -> consumer -> ClickHouse.
// Every span the SDK ended must be stored once with its ids, parentage, timestamps, status and attributes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { decodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { allExportsSucceeded, emitAgentRun, expectedRow, type SdkProtocol, sdkClient, storedRowsSql } from '../harness/agent-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

const variants: Array<{ protocol: SdkProtocol; gzip: boolean }> = [
  { protocol: 'protobuf', gzip: false },
  { protocol: 'protobuf', gzip: true },
  { protocol: 'json', gzip: false },
  { protocol: 'json', gzip: true },
  { protocol: 'grpc', gzip: false },
  { protocol: 'grpc', gzip: true },
];

describe('SDK -> receiver -> Kafka -> consumer -> ClickHouse', () => {
  let pipeline: TestPipeline;

  before(async () => {
    pipeline = await startTestPipeline('all', testConfig({ receivers: { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:0' } } } } }));
    assert.ok(pipeline.config.kafka.brokers.length > 0, 'the e2e path needs the harness Kafka broker (KAFKA_BROKERS)');
  });
  after(async () => pipeline?.stop());

  for (const { protocol, gzip } of variants) {
    it(`stores every span exported with ${protocol}${gzip ? ' + gzip' : ''}`, async () => {
      const tenant = `tenant-${protocol}-${gzip ? 'gz' : 'plain'}`;
      const client = sdkClient({
        endpoint: protocol === 'grpc' ? `http://127.0.0.1:${pipeline.app.otlpGrpcPort}` : pipeline.url,
        protocol,
        gzip,
        resource: { 'service.name': 'research-agent', 'tenant.id': tenant, 'deployment.environment': 'staging', 'service.version': '1.4.2' },
      });
      const traceIds = [0, 1, 2].map((run) => emitAgentRun(client.tracer, run));
      await client.flush();
      const expected = client.finished().map(expectedRow);
      await client.shutdown();
      assert.ok(allExportsSucceeded(client), `every OTLP export must be acknowledged: ${JSON.stringify(client.exportResults)}`);

      assert.equal(expected.length, 15);
      const sql = storedRowsSql(pipeline.config.exporters.clickhouse.database);
      let stored: Array<Record<string, unknown>> = [];
      await waitFor(async () => (stored = await pipeline.query(sql, { trace_ids: traceIds })).length >= expected.length, 30_000, 'all spans in ClickHouse');
      // Wait past one more batch interval: a duplicate would show up now.
      await new Promise((r) => setTimeout(r, 500));
      stored = await pipeline.query(sql, { trace_ids: traceIds });
      assert.equal(stored.length, expected.length, 'each span stored exactly once');

      const bySpanId = new Map(stored.map((r) => [r.span_id as string, r]));
      for (const want of expected) {
        const got = bySpanId.get(want.span_id as string);
        assert.ok(got, `span ${want.span_id} (${want.operation}) missing`);
        for (const [column, value] of Object.entries(want)) assert.deepEqual(got[column], value, `${want.operation}.${column}`);
        assert.equal(got.tenant_id, tenant);
        assert.equal(got.env, 'staging');
        assert.equal(got.service_name, 'research-agent');
        assert.equal((got.resource_attributes as Record<string, string>)['service.version'], '1.4.2');
        assert.equal(got.duration_ms, Number(BigInt(want.end_ns as string) - BigInt(want.start_ns as string)) / 1e6);
      }
      // Parentage: every non-root span points at the root of its trace; one tool call failed.
      const roots = stored.filter((r) => r.parent_span_id === '');
      assert.equal(roots.length, 3);
      for (const r of stored) if (r.parent_span_id !== '') assert.ok(roots.some((root) => root.span_id === r.parent_span_id && root.trace_id === r.trace_id));
      const failed = stored.filter((r) => r.status_code === 'ERROR');
      assert.deepEqual(failed.map((r) => [r.operation, r.status_message, r.events_count]), [0, 1, 2].map(() => ['execute_tool web_search', 'search backend timed out', 1]));
    });
  }

  it('normalizes GenAI columns, prices the calls, stores the events and fills the rollups', async () => {
    const tenant = 'tenant-protobuf-plain';
    const db = pipeline.config.exporters.clickhouse.database;
    const spans = await pipeline.query<Record<string, string>>(
      `SELECT operation, gen_ai_operation, agent_name, provider, model, request_model, tool_name, tokens_prompt, tokens_completion, tokens_cache_read,
              tokens_total, cost_source, toString(cost_usd) AS cost, workflow_id, user_id, error_type
       FROM ${db}.spans_raw WHERE tenant_id = {tenant:String} ORDER BY start_ts`,
      { tenant },
    );
    assert.equal(spans.length, 15);
    const chats = spans.filter((r) => r.gen_ai_operation === 'chat');
    assert.equal(chats.length, 6);
    for (const c of chats) {
      assert.equal(c.provider, 'openai');
      assert.equal(c.request_model, 'gpt-4o');
      assert.equal(c.cost_source, 'computed');
      assert.ok(Number(c.cost) > 0);
    }
    // Picked by content, not position: the SDK anchors each trace's clock separately, so spans of
    // different traces may interleave in start order.
    // First call of run 0: 1200 input (no cache), 85 output at gpt-4o prices (2.5 / 10 per 1M).
    const first = chats.find((c) => c.tokens_prompt === '1200')!;
    assert.deepEqual([first.model, first.tokens_total, first.cost], ['gpt-4o-2024-08-06', '1285', String((1200 * 2.5 + 85 * 10) / 1e6)]);
    // Second call of each run: 1700 input of which 1024 cached (1.25 per 1M), 420 output.
    const cached = chats.filter((c) => c.tokens_cache_read === '1024');
    assert.equal(cached.length, 3);
    for (const c of cached) assert.deepEqual([c.model, c.tokens_prompt, c.cost], ['gpt-4o', '1700', String((676 * 2.5 + 1024 * 1.25 + 420 * 10) / 1e6)]);
    const tools = spans.filter((r) => r.gen_ai_operation === 'execute_tool');
    assert.deepEqual(tools.map((t) => [t.tool_name, t.error_type]).sort(), [['calculator', ''], ['calculator', ''], ['calculator', ''], ['web_search', 'Error'], ['web_search', 'Error'], ['web_search', 'Error']]);
    const agents = spans.filter((r) => r.gen_ai_operation === 'invoke_agent');
    assert.deepEqual(agents.map((a) => [a.agent_name, a.user_id]), [0, 1, 2].map(() => ['research_assistant', 'user-7']));
    assert.deepEqual(agents.map((a) => a.workflow_id).sort(), ['wf-0', 'wf-1', 'wf-2']);

    // Span events are stored in their span's row; the events view reads them as rows, with the
    // span's model and tool where an event names none of its own.
    const events = await pipeline.query<Record<string, unknown>>(
      `SELECT event_type, count() AS n, groupUniqArray(operation) AS operations, groupUniqArray(model) AS models, groupUniqArray(tool_name) AS tools,
              groupUniqArray(JSONExtractString(payload_json, 'exception.message')) AS messages, groupUniqArray(JSONExtractString(payload_json, 'gen_ai.choice.index')) AS indexes
       FROM ${db}.events WHERE tenant_id = {tenant:String} GROUP BY event_type ORDER BY event_type`,
      { tenant },
    );
    assert.deepEqual(events, [
      { event_type: 'exception', n: '3', operations: ['execute_tool web_search'], models: [''], tools: ['web_search'], messages: ['search backend timed out after 3000 ms'], indexes: [''] },
      { event_type: 'gen_ai.choice', n: '3', operations: ['chat gpt-4o'], models: ['gpt-4o-2024-08-06'], tools: [''], messages: [''], indexes: ['0'] },
    ]);

    const llm = await pipeline.query<Record<string, string>>(`SELECT model, sum(calls) AS calls, sum(tokens_prompt) AS tp, toString(sum(cost_usd)) AS cost FROM ${db}.llm_minute WHERE tenant_id = {tenant:String} GROUP BY model ORDER BY model`, { tenant });
    const raw = await pipeline.query<Record<string, string>>(`SELECT model, count() AS calls, sum(tokens_prompt) AS tp, toString(sum(toDecimal128(cost_usd, 10))) AS cost FROM ${db}.spans_raw WHERE tenant_id = {tenant:String} AND gen_ai_operation = 'chat' GROUP BY model ORDER BY model`, { tenant });
    assert.deepEqual(llm, raw);
    const toolsMinute = await pipeline.query<Record<string, string>>(`SELECT tool_name, sum(calls) AS calls, sum(errors) AS errors FROM ${db}.tool_minute WHERE tenant_id = {tenant:String} GROUP BY tool_name ORDER BY tool_name`, { tenant });
    assert.deepEqual(toolsMinute, [{ tool_name: 'calculator', calls: '3', errors: '0' }, { tool_name: 'web_search', calls: '3', errors: '3' }]);
    const traceIds = [...new Set((await pipeline.query<{ trace_id: string }>(`SELECT trace_id FROM ${db}.spans_raw WHERE tenant_id = {tenant:String}`, { tenant })).map((r) => r.trace_id))];
    const index = await pipeline.query<Record<string, string>>(`SELECT trace_id, sum(span_count) AS spans, sum(error_count) AS errors, max(root_service) AS root FROM ${db}.trace_index WHERE trace_id = {id:String} GROUP BY trace_id`, { id: traceIds[0] });
    assert.deepEqual(index, [{ trace_id: traceIds[0], spans: '5', errors: '1', root: 'research-agent' }]);
    const metrics = await (await fetch(`http://127.0.0.1:${pipeline.app.adminPort}/metrics`)).text();
    const watermark = Number(/tracehouse_ingest_watermark_seconds\{tenant="tenant-protobuf-plain"\} ([\d.]+)/.exec(metrics)?.[1]);
    assert.ok(Math.abs(Date.now() / 1000 - watermark) < 120, `watermark ${watermark} is recent`);
  });

  it('publishes one OTLP protobuf message per trace, keyed by the hex trace id, with tenant and env stamped', async () => {
    const kafka = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'e2e-inspect', logLevel: 0 });
    const consumer = kafka.consumer({ groupId: `inspect-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: pipeline.config.exporters.kafka.topic, fromBeginning: true });
    const seen: Array<{ key: string; partition: number; traceIds: Set<string>; tenant: string }> = [];
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const decoded = decodeTracesProtobuf(message.value!);
        const rs = decoded.data.resourceSpans[0]!;
        seen.push({
          key: message.key!.toString(),
          partition,
          traceIds: new Set(decoded.data.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((sp) => sp.traceId)))),
          tenant: JSON.stringify(rs.resource.attributes.filter((kv) => kv.key === 'tenant_id' || kv.key === 'env').map((kv) => kv.value)),
        });
      },
    });
    try {
      await waitFor(async () => seen.length >= 12, 15_000, 'messages from the four variants');
    } finally {
      await consumer.disconnect();
    }
    const partitionOfTrace = new Map<string, number>();
    for (const m of seen) {
      assert.deepEqual([...m.traceIds], [m.key], 'a message holds exactly the trace named by its key');
      assert.match(m.key, /^[0-9a-f]{32}$/);
      assert.match(m.tenant, /^\[\{"stringValue":"tenant-[a-z]+-[a-z]+"\},\{"stringValue":"staging"\}\]$/);
      const prev = partitionOfTrace.get(m.key);
      assert.ok(prev === undefined || prev === m.partition, 'one trace stays on one partition');
      partitionOfTrace.set(m.key, m.partition);
    }
    assert.ok(new Set(seen.map((m) => m.partition)).size > 1, 'traces spread over partitions');
  });
});
