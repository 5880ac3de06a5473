// An HTTP/2 server made of Node's http2.createServer() and a wirestack TLS
// stack that offers h2 in ALPN: once the handshake is done the connection
// is handed to the HTTP/2 server. Two clients: Node's http2.connect() over
// a wirestack connection, and fetch through dispatcher() (needs undici).
// Run: npm run build && npx tsx examples/http2-server.ts
import http2 from 'node:http2';
import { fetch } from 'undici';
import { connect, dispatcher, listen, tls } from 'wirestack';
import { makeCertificates } from 'wirestack/testing';

const { ca, server: identity } = makeCertificates();

const app = http2.createServer((req, res) => res.end(`HTTP/${req.httpVersion} ${req.url}\n`));
const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ cert: identity.cert, key: identity.key, alpn: ['h2'] })], async (conn) => {
  await conn.secured;                 // ALPN is known: h2
  app.emit('connection', conn);
});
const { port } = listener.address() as { port: number };

// Node's HTTP/2 client over a connection of ours.
const conn = await connect({ host: 'localhost', port }, [tls.client({ ca: ca.cert, alpn: ['h2'] })]);
const session = http2.connect(`https://localhost:${port}`, { createConnection: () => conn });
const stream = session.request({ ':path': '/from-http2-connect' });
let text = '';
for await (const chunk of stream) text += chunk;
process.stdout.write(text);
session.close();

// fetch through a dispatcher: HTTP/2 because ALPN says so.
const via = dispatcher([tls.client({ ca: ca.cert, alpn: ['h2', 'http/1.1'] })]);
const res = await fetch(`https://localhost:${port}/from-fetch`, { dispatcher: via });
process.stdout.write(await res.text());
await via.close();

app.close();
await listener.close({ drain: false });
