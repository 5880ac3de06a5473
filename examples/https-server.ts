// An HTTPS server made of Node's http.createServer() and a wirestack TLS
// stack: listen() accepts each connection, applies the stack, and hands the
// connection to the HTTP server as if it were a socket. A client through
// agent() makes keep-alive requests over one pooled TLS connection.
// Run: npm run build && npx tsx examples/https-server.ts
import http from 'node:http';
import https from 'node:https';
import { type Connection, agent, listen, tls } from 'wirestack';
import { makeCertificates } from 'wirestack/testing';

const { ca, server: identity } = makeCertificates();   // a throwaway CA and a certificate for localhost

const app = http.createServer((req, res) => {
  const conn = req.socket as unknown as Connection;
  res.end(`${req.method} ${req.url} over ${conn.encrypted ? conn.tls?.info?.protocol : 'TCP'}\n`);
});
const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ cert: identity.cert, key: identity.key })], (conn) => {
  app.emit('connection', conn);
});
const { port } = listener.address() as { port: number };

const pooled = agent([tls.client({ ca: ca.cert })]);   // an https.Agent: the stack has TLS
for (const path of ['/one', '/two', '/three']) {
  const body = await new Promise<string>((resolve, reject) => {
    https.get({ host: 'localhost', port, path, agent: pooled }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  process.stdout.write(body);
}
console.log(`connections accepted: ${listener.connections.size}`);   // 1: the agent kept it alive

pooled.destroy();
app.close();
await listener.close({ drain: false });
