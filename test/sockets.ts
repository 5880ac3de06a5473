// Plain TCP peers on loopback for tests of the command and the proxy: a
// server with the test's own behaviour, a client, and a round trip timed.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP server on 127.0.0.1 (half-open allowed) calling `onSocket` per
 * connection. Its sockets' errors are not the test's subject: a reset on
 * purpose (a fault, an idle timeout) is for the other end to see.
 */
export async function tcpServer(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A TCP client of 127.0.0.1:`port`, once connected (rejects with the connect error). */
export async function tcpClient(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/** Milliseconds for one byte to go through an echo and back. */
export async function roundTrip(socket: Socket): Promise<number> {
  const started = performance.now();
  socket.write('x');
  await once(socket, 'data');
  return performance.now() - started;
}
