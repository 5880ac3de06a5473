// The harness ceiling's reference (bench/identity.ts): the bare-socket loop a
// user would write by hand, run by plain node with nothing of the harness
// loaded. For each line of standard input (a byte count) it moves that many
// bytes from a client socket to a server socket in this process and prints
// the transfer's wall and CPU seconds as a line of JSON.
import net from 'node:net';
import readline from 'node:readline';

const chunk = Buffer.alloc(64 * 1024, 'x');
const server = net.createServer({ noDelay: true }).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

const transfer = (bytes) => new Promise((resolve) => {
  let start, cpu;
  server.once('connection', (socket) => {
    let received = 0;
    socket.on('data', (data) => {
      if ((received += data.length) < bytes) return;
      const used = process.cpuUsage(cpu);
      resolve({ seconds: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 });
      socket.destroy();
    });
  });
  const client = net.connect({ host: '127.0.0.1', port: server.address().port, noDelay: true }, () => {
    [start, cpu] = [performance.now(), process.cpuUsage()];
    let sent = 0;
    const write = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!client.write(chunk)) return void client.once('drain', write);
      }
    };
    write();
  });
  client.on('error', () => {}); // the server end is destroyed once it has every byte
});

for await (const line of readline.createInterface({ input: process.stdin })) {
  console.log(JSON.stringify(await transfer(Number(line))));
}
server.close();
