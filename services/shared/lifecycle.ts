// Clean shutdown on SIGTERM/SIGINT: run the service's stop sequence once (stop intake, flush,
// commit), then exit 0; a second signal, or a stop that hangs past the grace period, exits 1.
import type { Logger } from './log.js';

/** How long the stop sequence may take before the process exits anyway. */
const GRACE_MS = 30_000;

export function exitOnSignal(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown exceeded grace period', { grace_ms: GRACE_MS });
      process.exit(1);
    }, GRACE_MS);
    timer.unref();
    stop().then(
      () => {
        log.info('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
