import { createWriteStream, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { WirestackError } from '../../lib/errors.js';
import { emitWarning } from '../../lib/runtime.js';
import type { Writable } from '../../lib/stream.js';

// Key log files are opened once per path and process and appended to, so a
// capture of many connections decrypts with one file and filters made in a
// loop do not each hold a descriptor.
const keylogFiles = new Map<string, Writable>();

/** The key log file at `path`, opened for appending (once per path and process). */
export function keylogFile(path: string): Writable {
  const absolute = resolvePath(path);
  let file = keylogFiles.get(absolute);
  if (!file) {
    let fd: number;
    try {
      // Opened now, so a path that cannot be written fails when the filter is made.
      fd = openSync(absolute, 'a');
    } catch (err) {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `tls: keylog file ${path} cannot be opened: ${(err as Error).message}`, { layer: 'tls' });
    }
    file = createWriteStream(absolute, { fd, flags: 'a' });
    // A disk that fails later must not crash the process; the key log is a debugging aid.
    file.on('error', (err) => emitWarning(`wirestack: writing the TLS key log ${path} failed: ${err.message}`));
    keylogFiles.set(absolute, file);
  }
  return file;
}
