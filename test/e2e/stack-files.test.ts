// docker-compose.yml and the Dockerfile are validated offline with the libraries Docker itself uses
// (compose-go, BuildKit's Dockerfile parser and linter), since no Docker engine runs on CI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { READER_USER, deployUsersXml } from '../../services/shared/clickhouse/users.js';
import { CLICKHOUSE_IMAGE } from '../harness/containers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('stack files', () => {
  it('docker-compose.yml loads under the Compose specification and the Dockerfile parses and lints clean', async () => {
    const { stdout } = await promisify(execFile)('go', ['run', '.', ROOT], { cwd: join(ROOT, 'scripts/validate'), timeout: 300_000 });
    assert.match(stdout, /docker-compose\.yml: valid \(\d+ services/);
    assert.match(stdout, /Dockerfile: valid \(2 stages, BuildKit parser and linter, no warnings\)/);
  });

  it('wires the stack as documented: ports, healthchecks, init order, provisioning mounts', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const s = compose.services;
    const ports = Object.values(s).flatMap((svc) => (svc.ports as string[] | undefined) ?? []);
    for (const p of ['4318:4318', '8123:8123', '9000:9000', '3000:3000', '29092:29092']) assert.ok(ports.includes(p), `port ${p}`);
    for (const name of ['kafka', 'clickhouse', 'receiver', 'consumer']) assert.ok(s[name]!.healthcheck, `${name} has a healthcheck`);
    assert.deepEqual(s.consumer!.depends_on, { kafka: { condition: 'service_healthy' }, 'clickhouse-init': { condition: 'service_completed_successfully' } });
    assert.deepEqual(s['clickhouse-init']!.command, ['migrate']);
    assert.ok((s.grafana!.volumes as string[]).some((v) => v.startsWith('./grafana/provisioning:/etc/grafana/provisioning')));
    assert.match(String((s.kafka!.environment as Record<string, unknown>).KAFKA_PROCESS_ROLES), /broker,controller/, 'KRaft, no ZooKeeper');
    assert.equal(s.zookeeper, undefined);
    const env = (name: string): Record<string, string> => s[name]!.environment as Record<string, string>;
    assert.equal(env('consumer').CLICKHOUSE_USER, 'tracehouse_ingest', 'the consumer writes as the insert-only user');
    assert.equal(env('consumer').TRACEHOUSE_MIGRATE_ON_START, 'false');
    assert.equal(env('consumer').KAFKA_BROKERS, 'kafka:9092', 'and keeps the shared settings');
    assert.equal(env('grafana').CLICKHOUSE_GRAFANA_USER, READER_USER);
    // One source: the committed file is what the generator prints (its grants are tested on a real server in clickhouse-access).
    assert.equal(readFileSync(join(ROOT, 'deploy/clickhouse/users.xml'), 'utf8'), deployUsersXml(), 'deploy/clickhouse/users.xml is current: node dist/services/cli.js clickhouse users-xml > deploy/clickhouse/users.xml');
    assert.ok((s.clickhouse!.volumes as string[]).some((v) => v.includes('users.d/tracehouse.xml')));
  });

  it('pins the same versions the suite runs: ClickHouse as libchdb (and as the testcontainers image), Kafka as the fetched jars', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string }> };
    const chdb = JSON.parse(readFileSync(join(ROOT, 'node_modules/@chdb/lib-linux-x64-gnu/package.json'), 'utf8')) as { version: string };
    const [major, minor] = chdb.version.split('.');
    assert.equal(compose.services.clickhouse!.image, `clickhouse/clickhouse-server:${major}.${minor}`);
    assert.equal(CLICKHOUSE_IMAGE, compose.services.clickhouse!.image);
    const fetched = readFileSync(join(ROOT, 'scripts/kafka/pom.xml'), 'utf8').match(/<kafka\.version>([0-9.]+)<\/kafka\.version>/);
    assert.ok(fetched, 'scripts/kafka/pom.xml pins the broker version');
    assert.equal(compose.services.kafka!.image, `apache/kafka:${fetched[1]}`);
  });
});
