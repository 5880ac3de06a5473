// The harness ceiling's reference inside a measuring process: the bare-socket
// loop a user would write by hand (bench/minimal-loop.mjs, line for line),
// using nothing of the harness — no bulk(), no acceptor, no ping-pong, no
// quiesce — only node:net, in the same process as the harness's own
// bare-socket variant, so the two differ in code and nothing else.
import net from 'node:net';
import type { Variant } from './isolated.js';

/** A loopback server and, per sample, a client that writes `bytes` to it as fast as it drains. */
export async function handLoop(bytes: number): Promise<Variant> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = net.createServer({ noDelay: true }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const transfer = (): Promise<{ value: number; cpu: number }> => new Promise((resolve) => {
    let start = 0;
    let cpu = process.cpuUsage();
    server.once('connection', (socket) => {
      let received = 0;
      socket.on('data', (data: Buffer) => {
        if ((received += data.length) < bytes) return;
        const used = process.cpuUsage(cpu);
        resolve({ value: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 });
        socket.destroy();
      });
    });
    const client = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      [start, cpu] = [performance.now(), process.cpuUsage()];
      let sent = 0;
      const write = (): void => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!client.write(chunk)) return void client.once('drain', write);
        }
      };
      write();
    });
    client.on('error', () => {}); // the server end is destroyed once it has every byte
  });

  return {
    sample: transfer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
