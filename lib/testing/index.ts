/**
 * wirestack/testing: the kit for testing filters and protocols — in-memory
 * pairs, the filter conformance suite, certificates.
 */
export { MemoryEnd, duplexPair } from '../duplex-pair.js';
export type { DuplexPairOptions } from '../duplex-pair.js';
export { makeCertificates } from './certificates.js';
export type { CertificateAndKey, MakeCertificatesOptions, TestCertificates } from './certificates.js';
export { Random } from './random.js';
export { ConformanceError, checkFilter, filterChecks } from './check-filter.js';
export type { CheckOptions, FilterCheck, FilterPair, MakePair } from './check-filter.js';
