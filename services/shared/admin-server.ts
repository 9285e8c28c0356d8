// The admin endpoint every service exposes: /healthz (process is up), /readyz (every component
// reports ready), /metrics (Prometheus). Nothing else: data is read from ClickHouse, never through here.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from './metrics.js';

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdminServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
}): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') return opts.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
    if (path === '/metrics') return send(res, 200, opts.registry.render(), 'text/plain; version=0.0.4');
    send(res, 404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function send(res: ServerResponse, status: number, body: string | Uint8Array, contentType = 'text/plain'): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
