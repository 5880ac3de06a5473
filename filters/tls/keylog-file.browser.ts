// The browser twin of keylog-file.ts: a page has no files; a Writable (or an object with write()) still works as `keylog`.
import { unsupportedRuntime } from '../../lib/runtime.js';
import type { Writable } from '../../lib/stream.js';

/** Throws `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: a key log file needs node:fs. */
export function keylogFile(_path: string): Writable {
  throw unsupportedRuntime('a keylog file path', 'files (node:fs)', 'pass a Writable as keylog');
}
