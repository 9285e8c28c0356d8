// Kafka and ClickHouse from testcontainers, opt-in with TRACEHOUSE_TESTCONTAINERS=1: on a machine
// with a container runtime the suite then runs against a Confluent KRaft broker and the
// ClickHouse server image the compose stack uses. Without a runtime it says so in one line and the
// suite uses its local processes (the KRaft broker from Maven Central jars, libchdb's server).
import { ClickHouseContainer, type StartedClickHouseContainer } from '@testcontainers/clickhouse';
import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import { getContainerRuntimeClient } from 'testcontainers';

/** The compose stack's server image (stack-files.test.ts keeps the two equal). */
export const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:26.7';
/** The image @testcontainers/kafka is built and tested against. */
export const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.1';

export type Containers =
  | { available: true; env: { KAFKA_BROKERS: string; CLICKHOUSE_URL: string; CLICKHOUSE_USER: string; CLICKHOUSE_PASSWORD: string }; stop(): Promise<void> }
  | { available: false; reason: string };

export async function startContainers(): Promise<Containers> {
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    return { available: false, reason: (err as Error).message.split('\n')[0]! };
  }
  const started: Array<StartedKafkaContainer | StartedClickHouseContainer> = [];
  try {
    const kafka = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
    started.push(kafka);
    const clickhouse = await new ClickHouseContainer(CLICKHOUSE_IMAGE).start();
    started.push(clickhouse);
    return {
      available: true,
      env: { KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`, CLICKHOUSE_URL: clickhouse.getHttpUrl(), CLICKHOUSE_USER: clickhouse.getUsername(), CLICKHOUSE_PASSWORD: clickhouse.getPassword() },
      stop: async () => {
        for (const c of started.reverse()) await c.stop();
      },
    };
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    throw err;
  }
}
