/**
 * The `forge` engine as the filter knows it: the real one (forge-engine.ts,
 * and with it node-forge and the chain checks) is loaded the first time a
 * filter asks for `engine: 'forge'`, so that `import 'wirestack'`, and every
 * run that never asks, leaves node-forge unloaded.
 *
 * Loading is asynchronous where the engine interface is not. What the
 * filter must refuse when it is made is checked here without node-forge
 * (forge-options.ts); a session opened before the real engine has loaded
 * waits for it, holding what it is given, and a failure to load or to
 * prepare the filter's keys reaches that session as a coded error.
 */
import { WirestackError } from '../../lib/errors.js';
import type { EngineConfig, EngineHost, EngineSession, SessionParams, TlsEngine } from './engine.js';
import { toTlsError } from './errors.js';
import { refuseUnsupported } from './forge-options.js';

let loading: Promise<TlsEngine> | undefined;
// Set once the real engine has loaded.
let loaded: TlsEngine | undefined;
// Configs the real engine has checked (and prepared): their sessions open at once.
const ready = new WeakSet<EngineConfig>();

function load(): Promise<TlsEngine> {
  loading ??= import('./forge-engine.js').then(
    (module) => (loaded = module.forgeEngine),
    (err: unknown) => {
      throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED',
        `tls: the forge engine could not be loaded: ${(err as Error).message}`, { layer: 'tls', cause: err });
    });
  return loading;
}

// The real engine's check, once per config; throws its coded error.
function prepare(engine: TlsEngine, config: EngineConfig): void {
  if (ready.has(config)) return;
  engine.check(config);
  ready.add(config);
}

class LazyForgeEngine implements TlsEngine {
  readonly name = 'forge';

  check(config: EngineConfig): void {
    if (loaded) {
      prepare(loaded, config);
      return;
    }
    refuseUnsupported(config);
    // Loaded now, while the application goes on to connect or listen; a failure waits for the sessions.
    load().catch(() => {});
  }

  open(config: EngineConfig, params: SessionParams, host: EngineHost): EngineSession {
    if (loaded && ready.has(config)) return loaded.open(config, params, host);
    return new PendingSession(config, params, host);
  }
}

/** The forge engine, loaded when first asked for. */
export const forgeEngine: TlsEngine = new LazyForgeEngine();

// A session whose engine is still loading: calls wait, in order, and go to
// the real session once it is open (engine rule 3 holds: the real session
// opens after this one's open() has returned).
class PendingSession implements EngineSession {
  #real: EngineSession | undefined;
  // Set by destroy() or a failure to start.
  #dead = false;
  #waiting: Array<(session: EngineSession) => void> = [];

  constructor(config: EngineConfig, params: SessionParams, host: EngineHost) {
    load().then((engine) => {
      if (this.#dead) return;
      try {
        prepare(engine, config);
        this.#real = engine.open(config, params, host);
      } catch (err) {
        this.#dead = true;
        host.fail(toTlsError(err, true));
        return;
      }
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const call of waiting) call(this.#real);
    }, (err: WirestackError) => {
      if (this.#dead) return;
      this.#dead = true;
      host.fail(err);
    });
  }

  receive(chunk: Buffer): void {
    this.#then((session) => session.receive(chunk));
  }

  send(chunks: Buffer[], done: (err?: Error | null) => void): void {
    this.#then((session) => session.send(chunks, done));
  }

  close(done: (err?: Error | null) => void): void {
    this.#then((session) => session.close(done));
  }

  transportEnded(): void {
    this.#then((session) => session.transportEnded());
  }

  // Asked only after the handshake, when the real session exists.
  unwrap(): Promise<Buffer[]> {
    const real = this.#real;
    if (real?.unwrap) return real.unwrap();
    return Promise.reject(new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', 'tls: the forge session has not started', { layer: 'tls' }));
  }

  destroy(): void {
    this.#dead = true;
    this.#waiting = [];
    this.#real?.destroy();
  }

  #then(call: (session: EngineSession) => void): void {
    if (this.#dead) return;
    if (this.#real) call(this.#real);
    else this.#waiting.push(call);
  }
}
