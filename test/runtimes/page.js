// What the browser tests run inside the page. Plain JavaScript, served as
// it is: the page imports wirestack's browser build the way any page would.
// Each export takes one JSON argument and resolves with a JSON result.

const wirestack = await import('/dist/browser/index.js');
const testing = await import('/dist/browser/testing.js');

/**
 * Runs checkFilter over in-page memory pairs on identity, log over deflate,
 * the testing filters, and forge TLS with certificates made in the page;
 * then a fault that fails on purpose.
 */
export async function conformance({ bigTransferBytes }) {
  const { identity, deflate, log, tls, wrap } = wirestack;
  const { checkFilter, makeCertificates } = testing;
  const options = { bigTransferBytes, roundTripBytes: 256 * 1024, timeout: 60_000 };
  const took = {};
  let start = performance.now();
  await checkFilter(() => ({ client: identity(), server: identity() }), options);
  took.identity = performance.now() - start;
  start = performance.now();
  // log's lines go to the console by default in a page; here to nowhere.
  await checkFilter(() => ({ client: [log({ sink: () => {} }), deflate()], server: [log({ sink: () => {} }), deflate()] }), options);
  took.logDeflate = performance.now() - start;
  start = performance.now();
  // The testing filters in one stack (faults set past the end of the traffic: their plumbing only).
  const { fragment, delay, throttle, fault } = testing;
  const testingStack = () => [fragment({ seed: 5, min: 1, max: 3000 }), delay({ ms: 0, jitter: 1, seed: 5 }), throttle(256 << 20),
    fault({ corruptAt: [2 ** 40], stallAt: 2 ** 40, direction: 'both' })];
  await checkFilter(() => ({ client: testingStack(), server: testingStack() }), options);
  took.testingFilters = performance.now() - start;
  start = performance.now();
  const certs = makeCertificates({ label: 'made in the page' });
  took.makeCertificates = performance.now() - start;
  const forge = { engine: 'forge', minVersion: 'TLSv1' };
  start = performance.now();
  await checkFilter(() => ({
    client: tls.client({ ...forge, ca: certs.ca.cert }),
    server: tls.server({ ...forge, cert: certs.server.cert, key: certs.server.key }),
  }), options);
  took.forgeTls = performance.now() - start;
  // A reset on purpose reaches the other end as a coded error.
  const [a, b] = testing.duplexPair();
  const client = wrap(a, [fault({ resetAt: 10, direction: 'out' })], { role: 'client' });
  const server = wrap(b, [], { role: 'server' });
  const failed = new Promise((resolve) => client.once('error', (err) => resolve(err.code)));
  server.on('error', () => {});
  client.write(new Uint8Array(100));
  const faultCode = await failed;
  return { took, faultCode, userAgent: navigator.userAgent };
}

/**
 * Connects with webSocket() through `stack` ('deflate', or 'tls' with the
 * CA given: the forge engine), sends `bytes` random bytes, half-closes and
 * reads to the end; returns both SHA-256s and what TLS said.
 */
export async function echo({ url, stack, ca, bytes }) {
  const { webSocket, deflate, tls } = wirestack;
  const filters = stack === 'deflate' ? [deflate()] : [tls.client({ engine: 'forge', minVersion: 'TLSv1', ca, servername: 'localhost' })];
  const conn = await webSocket(url, filters);
  const secured = stack === 'tls' ? await conn.secured : null;
  const data = randomBytes(bytes);
  const reading = (async () => {
    const chunks = [];
    for await (const chunk of conn) chunks.push(chunk);
    return concat(chunks);
  })();
  await conn.send(data);
  await conn.close();
  const received = await reading;
  await new Promise((resolve) => (conn.closed ? resolve() : conn.once('close', resolve)));
  return {
    sent: await sha256(data),
    received: await sha256(received),
    receivedBytes: received.length,
    errored: conn.errored ? `${conn.errored.code}: ${conn.errored.message}` : null,
    protocol: secured?.protocol ?? null,
    authorized: secured?.authorized ?? null,
  };
}

/** What each Node-only part does when used here: its error's code and message. */
export async function nodeOnlyParts() {
  const { connect, listen, agent, dispatcher, tls, deflate } = wirestack;
  const attempts = {
    connect: () => connect({ host: '127.0.0.1', port: 1 }),
    listen: () => listen({ port: 0 }, [], () => {}),
    agent: () => agent([]),
    dispatcher: () => dispatcher([]),
    nodeEngine: () => tls.client({}),
    brotli: () => deflate({ algorithm: 'brotli' }),
    keylogFile: () => tls.client({ engine: 'forge', minVersion: 'TLSv1', keylog: '/tmp/keys.log' }),
    tcpChecks: () => testing.checkFilter(() => ({ client: [], server: [] }), { transport: 'tcp' }),
  };
  const results = {};
  for (const [name, attempt] of Object.entries(attempts)) {
    try {
      await attempt();
      results[name] = 'no error';
    } catch (err) {
      results[name] = `${err.code}: ${err.message}`;
    }
  }
  return results;
}

function randomBytes(n) {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
