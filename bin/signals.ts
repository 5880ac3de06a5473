/**
 * A server the user stops with Ctrl-C (or a supervisor with SIGTERM) closes
 * what it opened first: a Unix socket's file is removed only by a close, and
 * is left behind by a plain kill.
 */
import { constants } from 'node:os';

/** On SIGINT or SIGTERM: runs `close`, then exits with 128 + the signal's number, as a shell reports it. */
export function closeOnSignals(close: () => Promise<unknown>): void {
  const stop = (signal: NodeJS.Signals): void => {
    const status = 128 + (constants.signals[signal] ?? 0);
    // A second signal while closing does not wait.
    process.once(signal, () => process.exit(status));
    void close().finally(() => process.exit(status));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
