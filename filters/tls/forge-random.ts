/**
 * Where node-forge's random numbers come from. On Node, Deno and Bun forge
 * seeds its generator from node:crypto by itself, so there is nothing to do;
 * the browser build's twin seeds it from WebCrypto.
 */

/** Makes sure forge's generator is seeded from the platform's secure source. */
export function useSecureRandom(): void {}
