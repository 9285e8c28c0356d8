// Crash points for the fault tests: TRACEHOUSE_FAILPOINTS="batch-after-insert:3,..." makes the
// process kill itself with SIGKILL the 3rd time it reaches that point, so a test can crash it at
// an exact step (between an INSERT and its commit, say). Unset, a check is one Map lookup.
const remaining = new Map<string, number>();
for (const item of (process.env.TRACEHOUSE_FAILPOINTS ?? '').split(',')) {
  const [name, count] = item.trim().split(':');
  if (name) remaining.set(name, Math.max(1, Number(count ?? 1) || 1));
}

export function failpoint(name: string): void {
  const left = remaining.get(name);
  if (left === undefined) return;
  if (left > 1) remaining.set(name, left - 1);
  else {
    process.stderr.write(`failpoint ${name}: SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
