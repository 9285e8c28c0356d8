// Clean shutdown on SIGTERM/SIGINT: run the service's stop sequence once (stop intake, flush,
// commit), then exit 0; a second signal, or a stop that hangs past the grace period, exits 1.
import type { Logger } from './log.js';

export function exitOnSignal(stop: () => Promise<void>, log: Logger, graceMs = 30_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown exceeded grace period', { grace_ms: graceMs });
      process.exit(1);
    }, graceMs);
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
