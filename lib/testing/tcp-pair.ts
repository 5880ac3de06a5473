import net from 'node:net';

/** Two connected TCP sockets on 127.0.0.1, both allowing half-open (checkFilter's `transport: 'tcp'`). */
export function tcpPair(): Promise<[net.Socket, net.Socket]> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      client.once('error', reject);
      server.once('connection', (accepted) => {
        server.close();
        client.once('connect', () => resolve([client, accepted]));
        if (!client.connecting) resolve([client, accepted]);
      });
    });
  });
}
