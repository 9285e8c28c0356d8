// OTLP logs: the codecs against the reference encoder (@opentelemetry/otlp-transformer) and the
// JS SDK's own log records, and the genai processor's mapping of records to logs_raw and (GenAI
// events) events_raw rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, type ReadableLogRecord, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { decodeLogsJson } from '../../services/otlp/json.js';
import { type DecodedLogs, type LogRecord, type LogsData, countLogRecords } from '../../services/otlp/model.js';
import { decodeLogsProtobuf, encodeLogsProtobuf } from '../../services/otlp/protobuf.js';
import { anyValueToString } from '../../services/otlp/attributes.js';
import { halveLogs } from '../../services/otlp/split.js';
import { Normalizer } from '../../services/processors/genai/rows.js';
import { hrTimeToNanos } from '../harness/agent-traces.js';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

function sdkLogRecords(): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'logs-agent', 'tenant.id': 'acme' }),
    processors: [new SimpleLogRecordProcessor(memory)],
  });
  const logger = provider.getLogger('logs-test', '1.4.0');
  const inSpan = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
  logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'disk almost full', attributes: { 'disk.free_mb': 12, 'host.name': 'h1', ok: false, ratio: 0.5 } });
  logger.emit({
    context: inSpan,
    eventName: 'gen_ai.user.message',
    body: { role: 'user', content: 'What is the capital of France?' },
    attributes: { 'gen_ai.provider.name': 'openai' },
  });
  logger.emit({
    context: inSpan,
    eventName: 'gen_ai.client.inference.operation.details',
    attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 7, 'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"Paris"}]}]' },
  });
  logger.emit({ severityNumber: SeverityNumber.ERROR2, body: ['a', 1], attributes: { tags: ['x', 'y'] } });
  return memory.getFinishedLogRecords();
}

function recordsOf(decoded: DecodedLogs | LogsData): LogRecord[] {
  const data = 'data' in decoded ? decoded.data : decoded;
  return data.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));
}

function assertMatchesSdk(decoded: DecodedLogs, expected: ReadableLogRecord[]): void {
  assert.equal(decoded.recordCount, expected.length);
  assert.equal(decoded.rejectedRecords, 0);
  const got = recordsOf(decoded);
  expected.forEach((want, i) => {
    const record = got[i]!;
    assert.equal(record.timeUnixNano.toString(), hrTimeToNanos(want.hrTime));
    assert.equal(record.observedTimeUnixNano.toString(), hrTimeToNanos(want.hrTimeObserved));
    assert.equal(record.severityNumber, want.severityNumber ?? 0);
    assert.equal(record.severityText, want.severityText ?? '');
    assert.equal(record.eventName, want.eventName ?? '');
    assert.equal(record.traceId, want.spanContext?.traceId ?? '');
    assert.equal(record.spanId, want.spanContext?.spanId ?? '');
    assert.equal(record.flags, want.spanContext?.traceFlags ?? 0);
    assert.deepEqual(Object.fromEntries(record.attributes.map((kv) => [kv.key, anyValueToString(kv.value)])), Object.fromEntries(Object.entries(want.attributes).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])));
    assert.equal(anyValueToString(record.body), want.body === undefined ? '' : typeof want.body === 'object' ? JSON.stringify(want.body) : String(want.body));
  });
  const rl = decoded.data.resourceLogs[0]!;
  assert.deepEqual(rl.resource.attributes.find((kv) => kv.key === 'tenant.id')?.value, { stringValue: 'acme' });
  assert.deepEqual([rl.scopeLogs[0]!.scope.name, rl.scopeLogs[0]!.scope.version], ['logs-test', '1.4.0']);
}

describe('OTLP logs codecs', () => {
  it('decode what the reference serializers encode, in protobuf and JSON, exactly', () => {
    const records = sdkLogRecords();
    assertMatchesSdk(decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(records)!), records);
    assertMatchesSdk(decodeLogsJson(Buffer.from(JsonLogsSerializer.serializeRequest(records)!).toString('utf8')), records);
  });

  it('encode what they decode: the Kafka message reads back field for field, value types included', () => {
    const decoded = decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!);
    const again = decodeLogsProtobuf(encodeLogsProtobuf(decoded.data));
    assert.deepEqual(again, decoded);
    const body = recordsOf(again).at(-1)!.body;
    assert.deepEqual(body, { arrayValue: [{ stringValue: 'a' }, { intValue: 1 }] });
  });

  it('reject a record with a malformed trace or span id through partial success, keeping the rest', () => {
    const body = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [
        { timeUnixNano: '1700000000000000000', severityNumber: 'SEVERITY_NUMBER_INFO', body: { stringValue: 'ok' } },
        { traceId: 'abc', body: { stringValue: 'bad id' } },
        { spanId: '0000000000000000', body: { stringValue: 'zero span' } },
        { severityNumber: 30 },
      ] }] }],
    });
    const decoded = decodeLogsJson(body);
    assert.equal(decoded.recordCount, 1);
    assert.equal(decoded.rejectedRecords, 3);
    assert.match(decoded.rejectionReason, /^3 log record\(s\) rejected; first: log record: trace_id must be empty or 16 non-zero bytes$/);
    assert.equal(recordsOf(decoded)[0]!.severityNumber, 9);
    assert.equal(recordsOf(decoded)[0]!.timeUnixNano, 1_700_000_000_000_000_000n);
  });

  it('halve a request too large for one Kafka message into two that hold every record once', () => {
    const decoded = decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!);
    const [a, b] = halveLogs(decoded.data);
    assert.deepEqual([countLogRecords(a), countLogRecords(b)], [2, 2]);
    assert.deepEqual([...recordsOf(a), ...recordsOf(b)], recordsOf(decoded));
    assert.equal(a.resourceLogs[0]!.resource, decoded.data.resourceLogs[0]!.resource);
  });
});

describe('genai processor on logs', () => {
  const normalizer = (noContentTenants: string[] = [], contentMaxBytes = 16_384): Normalizer => new Normalizer({ contentMaxBytes, noContentTenants, prices: [], tenancy: { tenant: 'default', env: 'unknown' } });
  const data = (): LogsData => decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!).data;

  it('puts GenAI events in events_raw rows with their payload, model and tokens, and other records in logs_raw rows', () => {
    const rows = normalizer().normalizeLogs(data());
    assert.equal(rows.spans.length, 0);
    assert.deepEqual(rows.events.map((e) => e.event_type), ['gen_ai.user.message', 'gen_ai.client.inference.operation.details']);
    const [message, details] = rows.events;
    assert.deepEqual([message!.trace_id, message!.span_id, message!.tenant_id, message!.service_name], [TRACE_ID, SPAN_ID, 'acme', 'logs-agent']);
    assert.deepEqual(JSON.parse(message!.payload_json), { 'gen_ai.provider.name': 'openai', role: 'user', content: 'What is the capital of France?' });
    assert.deepEqual([details!.model, details!.tokens_prompt, details!.tokens_completion, details!.tokens_total], ['gpt-4o-mini-2024-07-18', 12, 7, 19]);
    assert.equal(rows.logs.length, 2);
    const [warn, error] = rows.logs;
    assert.deepEqual([warn!.severity_number, warn!.severity_text, warn!.body, warn!.body_type, warn!.tenant_id, warn!.trace_id], [13, 'WARN', 'disk almost full', '', 'acme', '']);
    assert.deepEqual(warn!.attributes, { 'disk.free_mb': '12', 'host.name': 'h1', ok: 'false', ratio: '0.5' });
    assert.deepEqual(warn!.attribute_types, { 'disk.free_mb': 'int', ok: 'bool', ratio: 'double' });
    assert.deepEqual([error!.severity_number, error!.body, error!.body_type], [18, '["a",1]', '{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"}]}}']);
    assert.equal(warn!.scope_name, 'logs-test');
  });

  it('applies the content policy to GenAI event content: cut to the cap, or dropped for a no-content tenant', () => {
    const cut = normalizer([], 10).normalizeLogs(data()).events[0]!;
    assert.match(JSON.parse(cut.payload_json).content, /^What is th…\[truncated 20 bytes\]$/);
    const dropped = normalizer(['acme']).normalizeLogs(data()).events;
    assert.deepEqual(JSON.parse(dropped[0]!.payload_json), { 'gen_ai.provider.name': 'openai', role: 'user' });
    assert.equal(JSON.parse(dropped[1]!.payload_json)['gen_ai.output.messages'], undefined);
  });
});
