/**
 * wirestack/testing: the kit for testing filters and protocols — in-memory
 * pairs, the filter conformance suite, certificates, fault filters, and a
 * proxy that puts faults between a real client and a real server.
 * @module wirestack/testing
 */
export { MemoryEnd, duplexPair } from '../duplex-pair.js';
export type { DuplexPairOptions } from '../duplex-pair.js';
export { makeCertificates } from './certificates.js';
export type { CertificateAndKey, MakeCertificatesOptions, TestCertificates } from './certificates.js';
export { Random } from './random.js';
export type { Direction } from '../../filters/testing/direction.js';
export { fragment } from '../../filters/testing/fragment.js';
export type { FragmentSpec, ListedFragments, RandomFragments } from '../../filters/testing/fragment.js';
export { delay } from '../../filters/testing/delay.js';
export type { DelayOptions } from '../../filters/testing/delay.js';
export { throttle } from '../../filters/testing/throttle.js';
export type { ThrottleOptions } from '../../filters/testing/throttle.js';
export { fault } from '../../filters/testing/fault.js';
export type { FaultOptions } from '../../filters/testing/fault.js';
export { record } from '../../filters/testing/record.js';
export type { Recorder, Transcript, TranscriptEntry } from '../../filters/testing/record.js';
export { ReplayStream, replay } from '../../filters/testing/replay.js';
export type { ReplayOptions } from '../../filters/testing/replay.js';
export { ConformanceError, checkFilter, filterChecks } from './check-filter.js';
export type { CheckOptions, FilterCheck, FilterPair, MakePair } from './check-filter.js';
export { Proxy, proxy } from './proxy/proxy.js';
export type { FaultDirection, Faults, ProxiedConnection, ProxyOptions } from './proxy/proxy.js';
export { TOXIC_TYPES } from './proxy/toxics.js';
export type { AttributeValue, Stream, Toxic, ToxicSpec, ToxicType } from './proxy/toxics.js';
