// TRACEHOUSE_TESTCONTAINERS=1 on a machine without a container runtime: the harness learns it in
// one quick probe, with the reason, and goes on with local processes (run-tests.ts prints the line).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const CONTAINERS = fileURLToPath(new URL('../harness/containers.js', import.meta.url));

describe('testcontainers opt-in', () => {
  it('reports no container runtime in one line, quickly', { skip: existsSync('/var/run/docker.sock') && 'this machine has a Docker socket' }, async () => {
    // A home and runtime dir of its own: no ~/.testcontainers.properties, no rootless socket.
    const home = mkdtempSync(join(tmpdir(), 'tracehouse-tc-'));
    try {
      const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home };
      const script = `const m = await import(${JSON.stringify(CONTAINERS)}); const t = Date.now(); const r = await m.startContainers(); console.log(JSON.stringify({ ...r, ms: Date.now() - t }));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 30_000 });
      const result = JSON.parse(stdout) as { available: boolean; reason: string; ms: number };
      assert.equal(result.available, false);
      assert.match(result.reason, /container runtime/);
      assert.doesNotMatch(result.reason, /\n/);
      assert.ok(result.ms < 5000, `probe took ${result.ms} ms`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
