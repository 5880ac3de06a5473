// The filter conformance suite on the TLS client/server pair, over memory and TCP.
import { describe, it } from 'vitest';
import { tls } from '../lib/index.js';
import { filterChecks, makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();
const server = tls.server(certs.server);
const client = tls.client({ ca: certs.ca.cert });

for (const transport of ['memory', 'tcp'] as const) {
  describe(`checkFilter: tls over ${transport}`, () => {
    for (const check of filterChecks(() => ({ client, server }), { transport, seed: 20261126, bigTransferBytes: 4 << 20 })) {
      it(check.name, () => check.run());
    }
  });
}

// The native fast path (TLS directly on the socket, allowTruncation) must pass the same suite.
describe('checkFilter: tls over tcp, native fast path', () => {
  const nativeServer = tls.server({ ...certs.server, allowTruncation: true });
  const nativeClient = tls.client({ ca: certs.ca.cert, allowTruncation: true });
  for (const check of filterChecks(() => ({ client: nativeClient, server: nativeServer }), { transport: 'tcp', seed: 20261126, bigTransferBytes: 4 << 20 })) {
    it(check.name, () => check.run());
  }
});
