/**
 * The `wirestack` command: `connect`, `listen`, `proxy` and `demo`. Each command
 * lives in its own file; this one picks the command, and turns any failure
 * into one line on stderr and an exit status.
 */
import { runConnect } from './connect.js';
import { runListen } from './listen.js';
import { usage } from './args.js';
import { exitStatus, failureLine, EXIT_FAILURE, EXIT_USAGE } from './report.js';
import { versionLine } from './version.js';

const COMMANDS: Partial<Record<string, (argv: readonly string[]) => Promise<number>>> = {
  connect: runConnect,
  listen: runListen,
  // Loaded when asked for, as the demo: only the proxy needs the testing kit and an HTTP server.
  proxy: async (argv) => (await import('./proxy.js')).runProxy(argv),
  relay: async (argv) => (await import('./websocket-relay.js')).runRelay(argv),
  // Loaded when asked for: the demo makes certificates with node-forge, which the other commands rarely need.
  demo: async (argv) => (await import('./demo.js')).runDemo(argv),
};

const HELP = `Usage: wirestack COMMAND [flags]

Network connections as stacks of filters. The filter flags (--log, --tls,
--deflate) build the stack in the order given, lowest first.

Commands:
  demo      a TLS connection on this machine through tls, log and deflate, explained
  connect   HOST:PORT: standard input → connection → standard output (like nc, openssl s_client)
  listen    [HOST:]PORT: serve connections: stdin/stdout, --echo, or --exec CMD (like nc -l, ncat --exec)
  proxy     LISTEN --to TARGET: relay connections through faults you choose (like Toxiproxy)
  relay     --websocket [HOST:]PORT --to HOST:PORT: WebSockets joined to a TCP service (like websockify)

Run wirestack COMMAND --help for a command's flags; wirestack --version for
the version.

Examples:
  wirestack demo
  wirestack connect example.com:443 --tls --log
  wirestack listen 127.0.0.1:8443 --tls --self-signed --echo
  wirestack proxy 127.0.0.1:15432 --to 127.0.0.1:5432 --delay 100±20 --api 127.0.0.1:8474`;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${HELP}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const run = COMMANDS[name];
  try {
    if (!run) throw usage(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return await run(rest);
  } catch (err) {
    process.stderr.write(`${failureLine(run ? name : '', err)}\n`);
    return exitStatus(err);
  }
}

// Nothing may escape as a stack trace: a failure no command caught is still one line.
process.on('uncaughtException', (err) => {
  process.stderr.write(`${failureLine('', err)}\n`);
  process.exit(EXIT_FAILURE);
});

const status = await main(process.argv.slice(2));
// Exit once stdout has taken the last bytes, even with stdin still open.
process.stdout.write('', () => process.exit(status));
