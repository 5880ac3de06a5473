/**
 * Where to connect or listen: a TCP host and port, or a Unix socket path.
 * Without `host`, `connect` goes to `localhost` and `listen` binds every
 * interface.
 */
export type Target =
  | {
    /** Host name or address (default `localhost` for `connect()`; every interface for `listen()`). */
    host?: string;
    /** TCP port; `0` asks `listen()` for a free one. */
    port: number;
  }
  | {
    /** Unix domain socket path. */
    path: string;
  };

/** `host:port` or the socket path, for messages. */
export function describeTarget(target: Target): string {
  if ('path' in target) return target.path;
  const host = target.host ?? 'localhost';
  return host.includes(':') ? `[${host}]:${target.port}` : `${host}:${target.port}`;
}
