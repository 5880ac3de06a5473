// The browser twin of forge-key-types.ts: there is no node:crypto to read
// keys without node-forge, and no need, since this build bundles node-forge
// and loads the engine at once: its own check() refuses a CA, certificate
// or key that is not RSA when the filter is made.
import type { EngineConfig } from './engine.js';

/** Nothing to do here: the forge engine's check() reads the keys itself. */
export function refuseNonRsa(_config: EngineConfig): void {}
