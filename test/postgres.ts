// A PostgreSQL server of its own for a test: initdb and pg_ctl from the
// machine's PostgreSQL (Debian: apt-get install -y postgresql), in a
// temporary folder, listening only on a Unix socket there. PostgreSQL
// refuses to run as root, so as root it runs as the `postgres` user.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestPostgres {
  /** The folder of the server's Unix socket: pg's `host`. */
  readonly socketDir: string;
  readonly port: number;
  /** The socket's own path. */
  readonly socketPath: string;
  /** The superuser to connect as (trust authentication: no password). */
  readonly user: string;
  stop(): Promise<void>;
}

const INSTALL_HINT = 'PostgreSQL is needed for this test: apt-get install -y postgresql ' +
  '(initdb and pg_ctl are looked for on the PATH and in /usr/lib/postgresql/*/bin)';

/** Where initdb and pg_ctl are: the PATH first, then Debian's versioned folders, newest first. */
function findBin(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian) ? readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(debian, version, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error(INSTALL_HINT);
}

// The user the server runs as: ourselves, or `postgres` when we are root.
async function serverUser(): Promise<{ uid: number; gid: number; name: string } | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const run = promisify(execFile);
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid, name: 'postgres' };
  } catch {
    throw new Error(`running as root, and there is no postgres user to run the server as; ${INSTALL_HINT}`);
  }
}

/** Starts a throwaway server (trust authentication, no fsync) and resolves once it accepts connections. */
export async function startPostgres(port = 5432): Promise<TestPostgres> {
  const bin = findBin();
  const user = await serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const run = (file: string, args: string[]) => promisify(execFile)(join(bin, file), args, { ...as, cwd: dir, timeout: 60_000 });
  const superuser = user?.name ?? userInfo().username;
  await run('initdb', ['-D', data, '-U', superuser, '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Only a Unix socket, in the temporary folder: no TCP port to collide with.
  const options = `-c listen_addresses='' -k ${dir} -p ${port} -c fsync=off -c full_page_writes=off`;
  await run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  return {
    socketDir: dir,
    port,
    socketPath: join(dir, `.s.PGSQL.${port}`),
    user: superuser,
    stop: async () => {
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
