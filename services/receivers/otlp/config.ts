// receivers.otlp: the OTLP/HTTP endpoint, its size limits, TLS, API keys and per-span limits.
import { ConfigError, Section, readYamlFile, splitList } from '../../shared/config.js';

export interface IngestLimits {
  maxSpansPerRequest: number;
  maxLogRecordsPerRequest: number;
  maxAttributesPerSpan: number;
  maxAttributeValueBytes: number;
  maxEventsPerSpan: number;
  /** Spans starting further in the future than this are rejected (partial success). */
  maxFutureSkewMs: number;
}

/** PEM files; set => HTTPS / TLS. */
export type TlsFiles = { certFile: string; keyFile: string } | null;

export interface HttpProtocol {
  host: string;
  port: number;
  maxBodyBytes: number;
  tls: TlsFiles;
}

export interface GrpcProtocol {
  host: string;
  port: number;
  /** After decompression, as the Collector's max_recv_msg_size_mib. */
  maxRecvMsgBytes: number;
  tls: TlsFiles;
}

export interface OtlpReceiverConfig {
  /** null: the protocol is not served (protocols lists the others only). */
  http: HttpProtocol | null;
  grpc: GrpcProtocol | null;
  /** Request bytes being decoded or exported over both protocols; past it requests are refused for now. */
  maxInflightBytes: number;
  /** API key SHA-256 (hex) -> tenant; empty => no authentication. */
  apiKeys: Map<string, string>;
  limits: IngestLimits;
}

const MIB = 1024 * 1024;

/**
 * As in the Collector, `protocols` names what is served; without it both are, on the ports the
 * SDKs default to (4318 HTTP, 4317 gRPC).
 */
export function parseOtlpReceiverConfig(section: Section): OtlpReceiverConfig {
  const protocols = section.child('protocols');
  const serves = (name: string): boolean => protocols.raw === undefined || protocols.keys().includes(name);
  if (protocols.raw !== undefined && !serves('http') && !serves('grpc')) section.fail('protocols', 'must list http, grpc or both');
  const http = protocols.child('http');
  const grpc = protocols.child('grpc');
  const limits = section.child('limits');
  return {
    http: serves('http')
      ? { ...http.endpoint('endpoint', '0.0.0.0:4318', 'OTLP_HTTP_ENDPOINT'), maxBodyBytes: http.int('max_request_body_size', 20 * MIB), tls: readTls(http.child('tls'), 'OTLP_TLS') }
      : null,
    grpc: serves('grpc')
      ? { ...grpc.endpoint('endpoint', '0.0.0.0:4317', 'OTLP_GRPC_ENDPOINT'), maxRecvMsgBytes: grpc.int('max_recv_msg_size_mib', 20) * MIB, tls: readTls(grpc.child('tls'), 'OTLP_GRPC_TLS') }
      : null,
    maxInflightBytes: http.int('max_inflight_bytes', 256 * MIB),
    apiKeys: readApiKeys(section.child('auth')),
    limits: {
      maxSpansPerRequest: limits.int('max_spans_per_request', 100_000),
      maxLogRecordsPerRequest: limits.int('max_log_records_per_request', 100_000),
      maxAttributesPerSpan: limits.int('max_attributes_per_span', 512),
      maxAttributeValueBytes: limits.int('max_attribute_value_bytes', 256 * 1024),
      maxEventsPerSpan: limits.int('max_events_per_span', 1024),
      maxFutureSkewMs: limits.duration('max_future_skew', 86_400_000),
    },
  };
}

function readTls(tls: Section, envPrefix: string): TlsFiles {
  const certFile = tls.str('cert_file', '', `${envPrefix}_CERT_FILE`);
  const keyFile = tls.str('key_file', '', `${envPrefix}_KEY_FILE`);
  if (certFile === '' && keyFile === '') return null;
  if (certFile === '' || keyFile === '') tls.fail(certFile === '' ? 'cert_file' : 'key_file', 'is needed too: TLS takes both cert_file and key_file');
  return { certFile, keyFile };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * API keys are configured hashed: `sha256hex:tenant` entries in TRACEHOUSE_API_KEYS (comma
 * separated) or in receivers.otlp.auth.api_keys / the YAML file auth.api_keys_file
 * ([{ sha256, tenant }]). `tracehouse hash-key KEY` prints the hash of a key.
 */
function readApiKeys(auth: Section): Map<string, string> {
  const entries: Array<{ sha256: string; tenant: string; where: string }> = [];
  for (const item of splitList(auth.env.TRACEHOUSE_API_KEYS ?? '')) {
    const [sha256 = '', tenant = ''] = item.split(':');
    entries.push({ sha256, tenant, where: 'TRACEHOUSE_API_KEYS' });
  }
  const file = auth.str('api_keys_file', '', 'TRACEHOUSE_API_KEYS_FILE');
  const fromFile = file === '' ? [] : new Section(readYamlFile(file), file, auth.env).items('api_keys');
  for (const key of [...auth.items('api_keys'), ...fromFile]) {
    entries.push({ sha256: key.str('sha256', ''), tenant: key.str('tenant', ''), where: key.path });
  }
  const keys = new Map<string, string>();
  for (const { sha256, tenant, where } of entries) {
    if (!SHA256_HEX.test(sha256.toLowerCase())) throw new ConfigError(`${where}: API keys are configured as the lowercase hex SHA-256 of the key (tracehouse hash-key KEY)`);
    if (tenant === '') throw new ConfigError(`${where}: every API key needs a tenant`);
    keys.set(sha256.toLowerCase(), tenant);
  }
  return keys;
}
