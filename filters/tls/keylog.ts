/**
 * The TLS key log (NSS key log format, for Wireshark): where its lines go,
 * and how they go without ever queueing more than the sink's own buffer.
 *
 * A key log is a debugging aid: it must not slow connections down or make
 * memory grow. So while the sink is full (a `write()` returned false and it
 * has not drained), a line is dropped, not held, and the first drop on a
 * sink is reported once, as a process warning: a capture may then not
 * decrypt every session. Holding handshakes instead would let one stuck
 * file or pipe stall every connection of the process; and OpenSSL gives
 * out key lines in the middle of its handshake, where it cannot be paused.
 */
import { WirestackError } from '../../lib/errors.js';
import { emitWarning } from '../../lib/runtime.js';
import type { Writable } from '../../lib/stream.js';
import { keylogFile } from './keylog-file.js';

/** Writes key log lines to one sink, dropping them while it is full. */
export interface KeylogWriter {
  write(line: Buffer): void;
}

// One writer per sink, so that filters sharing a sink (a file path, a
// Writable passed to several) share one warning.
const writers = new WeakMap<Writable, KeylogWriter>();

/** The writer for a `keylog` option: a Writable, or a file path appended to. */
export function resolveKeylog(keylog: Writable | string | undefined): KeylogWriter | undefined {
  if (keylog === undefined) return undefined;
  if (typeof keylog === 'string') return writerFor(keylogFile(keylog), keylog);
  if (typeof keylog === 'object' && keylog !== null && typeof (keylog as Writable).write === 'function') return writerFor(keylog, 'a Writable');
  return invalid('keylog must be a Writable or a file path');
}

function writerFor(sink: Writable, name: string): KeylogWriter {
  let writer = writers.get(sink);
  if (!writer) {
    let warned = false;
    writer = {
      write(line: Buffer): void {
        // A sink that has ended or failed takes nothing more (and must not be made to throw).
        if (sink.destroyed || sink.writableEnded) return;
        if (sink.writableNeedDrain) {
          if (!warned) {
            warned = true;
            emitWarning(`wirestack: the TLS key log (${name}) is not keeping up: lines are dropped while it is full, so a capture may not decrypt every session`);
          }
          return;
        }
        sink.write(line);
      },
    };
    writers.set(sink, writer);
  }
  return writer;
}

function invalid(message: string): never {
  throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `tls: ${message}`, { layer: 'tls' });
}
