// The filter conformance suite on the forge engine's client/server pair.
// forge moves ~12 MB/s, so the large transfer is 2 MiB and the round trips 256 KiB.
import { describe, it } from 'vitest';
import { tls } from '../lib/index.js';
import { filterChecks, makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();
const forge = { engine: 'forge', minVersion: 'TLSv1' } as const;
const server = tls.server({ ...forge, ...certs.server });
const client = tls.client({ ...forge, ca: certs.ca.cert });

for (const transport of ['memory', 'tcp'] as const) {
  describe(`checkFilter: forge tls over ${transport}`, () => {
    for (const check of filterChecks(() => ({ client, server }),
      { transport, seed: 20261126, bigTransferBytes: 2 << 20, roundTripBytes: 256 << 10 })) {
      it(check.name, () => check.run());
    }
  });
}
