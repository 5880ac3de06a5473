// The browser twin of forge-lazy.ts: the forge engine is this build's only
// TLS engine and node-forge is bundled into it, so there is nothing to load
// later; the engine's own check() runs when the filter is made.
export { forgeEngine } from './forge-engine.js';
