// `tracehouse backfill replay`: spans lost from ClickHouse after they were consumed are stored again
// from the Kafka topic, exactly once, and a second replay stores nothing; `backfill rollups` then
// brings the rollups back in line with spans_raw.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka } from 'kafkajs';
import { backfillRollups, replayKafka } from '../../services/ops/backfill.js';
import { TelemetrySink } from '../../services/exporters/clickhouse/telemetry-sink.js';
import { createKafka } from '../../services/shared/kafka.js';
import { createLogger } from '../../services/shared/log.js';
import { Registry } from '../../services/shared/metrics.js';
import { Normalizer } from '../../services/processors/genai/rows.js';
import { encodeTracesProtobuf } from '../../services/otlp/protobuf.js';
import { generate } from '../harness/generated-traces.js';
import { type TestPipeline, startTestPipeline, testConfig, waitFor } from '../harness/pipeline.js';

describe('backfill replay from Kafka', () => {
  let pipeline: TestPipeline;
  const startedAt = Date.now() - 1000;

  before(async () => {
    pipeline = await startTestPipeline('consumer', testConfig());
  });
  after(async () => pipeline?.stop());

  const count = async (sql: string): Promise<number> => Number((await pipeline.query<{ n: string }>(sql))[0]!.n);

  it('restores lost spans exactly once, is a no-op the second time, and the rollups are rebuilt to match', async () => {
    const producer = new Kafka({ brokers: pipeline.config.kafka.brokers, clientId: 'replay-test', logLevel: 0 }).producer();
    await producer.connect();
    await producer.send({ topic: pipeline.config.exporters.kafka.topic, acks: -1, messages: generate(30, 77).map((t) => ({ value: Buffer.from(encodeTracesProtobuf(t)) })) });
    await producer.disconnect();
    await waitFor(async () => (await count('SELECT count() AS n FROM telemetry.spans_raw')) === 300, 30_000, 'all spans consumed');

    const lost = await count("SELECT count() AS n FROM telemetry.spans_raw WHERE tenant_id = 'tenant-1'");
    await pipeline.app.clickhouse!.client.command({ query: "ALTER TABLE telemetry.spans_raw DELETE WHERE tenant_id = 'tenant-1'", clickhouse_settings: { mutations_sync: '2' } });
    assert.equal(await count('SELECT count() AS n FROM telemetry.spans_raw'), 300 - lost);

    const log = createLogger('test', 50);
    const cfg = pipeline.config;
    const replay = () =>
      replayKafka({
        kafka: createKafka(cfg.kafka.brokers, 'replay', log),
        cfg: cfg.receivers.kafka,
        fromMs: startedAt,
        batchRows: 100,
        normalizer: new Normalizer({ tenancy: cfg.processors.attributes, contentMaxBytes: 16384, noContentTenants: [], prices: [] }),
        sink: new TelemetrySink(pipeline.app.clickhouse!, 'telemetry', new Registry(), log),
        client: pipeline.app.clickhouse!.client,
        database: 'telemetry',
      });
    const first = await replay();
    assert.deepEqual([first.messages, first.spansRead, first.spansStored], [30, 300, lost]);
    assert.equal(await count('SELECT count() AS n FROM telemetry.spans_raw'), 300);
    assert.equal(await count('SELECT uniqExact(trace_id, span_id) AS n FROM telemetry.spans_raw'), 300);
    const second = await replay();
    assert.equal(second.spansStored, 0, 'nothing stored twice');
    assert.equal(await count('SELECT count() AS n FROM telemetry.spans_raw'), 300);

    await backfillRollups(pipeline.app.clickhouse!.client, 'telemetry', { from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 120_000) });
    assert.equal(await count('SELECT sum(calls) AS n FROM telemetry.spans_minute'), 300);
    assert.equal(await count('SELECT sum(span_count) AS n FROM telemetry.trace_index'), 300);
  });
});
