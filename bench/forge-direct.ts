// The forge rows' baseline: a node-forge client and server driven directly,
// in memory, with no streams: each side's TLS records go straight into the
// other's process(), as node-forge's own examples do.
import forge from 'node-forge';
import { benchRsaCertificates } from './certs.js';
import { type Timing, quiesce, startTiming } from './harness.js';

/** A handshaken forge pair: `send` encrypts on the client; the server counts what it decrypts. */
export interface ForgePair {
  send(data: Buffer): void;
  /** Plaintext bytes the server has decrypted so far. */
  readonly received: number;
  close(): void;
}

/** Makes a forge client and server, runs the handshake, resolves once both are connected. */
export function forgePair(): Promise<ForgePair> {
  const { key, cert } = benchRsaCertificates();
  const suites = [forge.tls.CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA];
  let received = 0;
  let connected = 0;
  return new Promise((resolve, reject) => {
    const ready = (): void => {
      if (++connected === 2) {
        resolve({
          send: (data) => {
            client.prepare(data.toString('binary'));
          },
          get received() {
            return received;
          },
          close: () => {
            client.close();
            server.close();
          },
        });
      }
    };
    const server: forge.tls.Connection = forge.tls.createConnection({
      server: true,
      sessionCache: {},
      cipherSuites: suites,
      connected: ready,
      getCertificate: () => cert,
      getPrivateKey: () => key,
      tlsDataReady: (c) => {
        client.process(c.tlsData.getBytes());
      },
      dataReady: (c) => {
        received += c.data.getBytes().length;
      },
      closed: () => {},
      error: (_c, err) => reject(new Error(`forge server: ${err.message}`)),
    });
    const client: forge.tls.Connection = forge.tls.createConnection({
      server: false,
      caStore: [forge.pki.certificateFromPem(cert)],
      sessionCache: {},
      cipherSuites: suites,
      virtualHost: 'localhost',
      verify: (_c, verified) => verified,
      connected: ready,
      tlsDataReady: (c) => {
        server.process(c.tlsData.getBytes());
      },
      dataReady: () => {},
      closed: () => {},
      error: (_c, err) => reject(new Error(`forge client: ${err.message}`)),
    });
    client.handshake();
  });
}

/** Moves `bytes` from client to server in `writeSize` writes (slices of `source`, as bulk() makes them); returns the wall and CPU seconds. */
export async function forgeDirectBulk(bytes: number, writeSize: number, source: Buffer): Promise<Timing> {
  const pair = await forgePair();
  await quiesce();
  const timing = startTiming();
  for (let sent = 0; sent < bytes; sent += writeSize) {
    const offset = sent % (source.length - writeSize + 1);
    pair.send(source.subarray(offset, offset + Math.min(writeSize, bytes - sent)));
  }
  const result = timing();
  if (pair.received !== bytes) throw new Error(`forge pair delivered ${pair.received} of ${bytes} bytes`);
  pair.close();
  return result;
}
