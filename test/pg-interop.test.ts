// node-postgres against a real PostgreSQL server, its `stream` a connection
// with a log layer under the protocol. The server comes from the machine's
// PostgreSQL packages; without them this test fails and says what to install.
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, log, wrap } from '../lib/index.js';
import { type TestPostgres, startPostgres } from './postgres.js';
import { whenClosed } from './helpers.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe('pg over a connection', () => {
  it('queries through a log layer that shows the protocol both ways', async () => {
    const lines: string[] = [];
    let conn: Connection | undefined;
    const client = new pg.Client({
      host: server.socketDir,
      port: server.port,
      user: server.user,
      database: 'postgres',
      // pg calls connect() on its stream; the connection hands it to the socket below.
      stream: () => {
        conn = wrap(new net.Socket(), [log({ format: 'text', sink: (line: string) => lines.push(line) })]);
        return conn;
      },
    });
    await client.connect();
    const simple = await client.query('SELECT 6 * 7 AS answer');
    expect(simple.rows).toEqual([{ answer: 42 }]);
    const extended = await client.query('SELECT $1::text || $2::text AS joined, current_user AS who', ['wire', 'stack']);
    expect(extended.rows).toEqual([{ joined: 'wirestack', who: server.user }]);
    await client.end();
    await whenClosed(conn!);

    const logged = lines.join('\n');
    // Out: the startup message names the user; a simple query is a 'Q' message.
    expect(logged).toContain(`user\\x00${server.user}\\x00database\\x00postgres`);
    expect(logged).toContain('Q\\x00\\x00\\x00\\x1bSELECT 6 * 7 AS answer\\x00');
    expect(logged).toContain('SELECT $1::text || $2::text AS joined');
    // In: the server's parameters, then the row description, the row ('42') and the command tag.
    expect(logged).toMatch(/server_version\\x00\d+/);
    expect(logged).toMatch(/T.*answer.*D.*42C.*SELECT 1/);
    expect(conn!.bytesRead).toBeGreaterThan(0);
    expect(conn!.layers[0]!.bytesOut).toBe(conn!.bytesWritten);
  });

  it('a server that is not there: connect() rejects with ERR_WIRESTACK_CONNECT', async () => {
    const client = new pg.Client({
      host: server.socketDir,
      port: server.port + 1,
      user: server.user,
      stream: () => wrap(new net.Socket(), [log({ sink: () => {} })]),
    });
    const err = await client.connect().then(() => null, (e: unknown) => e as { code?: string; cause?: { code?: string } });
    expect(err?.code).toBe('ERR_WIRESTACK_CONNECT');
    expect(err?.cause?.code).toBe('ENOENT');
  });
});
