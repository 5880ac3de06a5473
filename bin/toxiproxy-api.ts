/**
 * `wirestack proxy --api HOST:PORT`: the control API of Toxiproxy 2
 * (https://github.com/Shopify/toxiproxy#http-api), so that its client
 * libraries drive wirestack proxies unchanged. Its shapes are copied from
 * Toxiproxy's api.go: the routes, methods and status codes, the JSON of a
 * proxy (`name`, `listen`, `upstream`, `enabled`, `toxics`) and of a toxic
 * (`attributes`, `name`, `type`, `stream`, `toxicity`), and the error body
 * `{"error": "…", "status": N}`. What it does not support (`/metrics`)
 * answers in that shape with a clear message.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  describeTarget, isWirestackError, WirestackError, type Target,
} from '../lib/index.js';
import type { Proxy, Toxic } from '../lib/testing/index.js';
import { parseHostPort } from './address.js';

/** What the API serves: the proxies by name, and how to make one. */
export interface ProxyRegistry {
  readonly proxies: Map<string, Proxy>;
  /** Makes (and, if `enabled`, starts) a plain TCP proxy, as Toxiproxy's are. */
  create(name: string, listen: Target, upstream: Target, enabled: boolean): Promise<Proxy>;
  /** The version `GET /version` reports. */
  readonly version: string;
}

/** An answer with a status: Toxiproxy's ApiError. */
class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const badBody = (why: string): ApiError => new ApiError(400, `bad request body: ${why}`);
const proxyNotFound = (): ApiError => new ApiError(404, 'proxy not found');
const toxicNotFound = (): ApiError => new ApiError(404, 'toxic not found');

type Handler = (registry: ProxyRegistry, params: string[], body: () => Promise<unknown>) => Promise<{ status: number; json?: unknown }>;

// Toxiproxy's routes (api.go), in its order.
const ROUTES: Array<{ method: readonly string[]; path: RegExp; handle: Handler }> = [
  { method: ['POST'], path: /^\/reset$/, handle: reset },
  { method: ['GET'], path: /^\/proxies$/, handle: async (r) => ({ status: 200, json: Object.fromEntries([...r.proxies].map(([name, p]) => [name, proxyJson(p)])) }) },
  { method: ['POST'], path: /^\/proxies$/, handle: createProxy },
  { method: ['POST'], path: /^\/populate$/, handle: populate },
  { method: ['GET'], path: /^\/proxies\/([^/]+)$/, handle: async (r, [name]) => ({ status: 200, json: proxyJson(find(r, name!)) }) },
  { method: ['POST', 'PATCH'], path: /^\/proxies\/([^/]+)$/, handle: updateProxy },
  { method: ['DELETE'], path: /^\/proxies\/([^/]+)$/, handle: deleteProxy },
  { method: ['GET'], path: /^\/proxies\/([^/]+)\/toxics$/, handle: async (r, [name]) => ({ status: 200, json: find(r, name!).toxics.map(toxicJson) }) },
  { method: ['POST'], path: /^\/proxies\/([^/]+)\/toxics$/, handle: createToxic },
  { method: ['GET'], path: /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, handle: async (r, [name, toxic]) => ({ status: 200, json: toxicJson(findToxic(find(r, name!), toxic!)) }) },
  { method: ['POST', 'PATCH'], path: /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, handle: updateToxicRoute },
  { method: ['DELETE'], path: /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, handle: deleteToxic },
  { method: ['GET'], path: /^\/version$/, handle: async (r) => ({ status: 200, json: { version: r.version } }) },
  { method: ['GET'], path: /^\/metrics$/, handle: async () => { throw new ApiError(404, '/metrics (Prometheus) is not supported by wirestack\'s Toxiproxy API'); } },
];

/** Serves the API on `host:port` (port 0: any free one); resolves once listening. */
export async function serveToxiproxyApi(where: { host?: string; port: number }, registry: ProxyRegistry): Promise<Server> {
  const server = createServer((request, response) => void answer(registry, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new WirestackError('ERR_WIRESTACK_LISTEN',
      `--api: cannot listen on ${describeTarget({ host: where.host ?? '*', port: where.port })}: ${err.message}`, { layer: 'api', cause: err })));
    server.listen(where.port, where.host, resolve);
  });
  return server;
}

async function answer(registry: ProxyRegistry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  let status: number;
  let json: unknown;
  try {
    // As Toxiproxy: a browser may not drive it (a page could otherwise, from any site).
    if ((request.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('User agent not allowed\n');
      return;
    }
    const path = (request.url ?? '/').split('?')[0]!;
    const routes = ROUTES.filter((r) => r.path.test(path));
    const route = routes.find((r) => r.method.includes(request.method ?? ''));
    if (!route) {
      if (routes.length > 0) throw new ApiError(405, `${request.method} is not allowed on ${path} (allowed: ${routes.flatMap((r) => r.method).join(', ')})`);
      throw new ApiError(404, `no such endpoint: ${request.method} ${path} (see the README's list of supported endpoints)`);
    }
    const params = route.path.exec(path)!.slice(1).map(decodeURIComponent);
    ({ status, json } = await route.handle(registry, params, () => readJson(request)));
  } catch (err) {
    const apiError = toApiError(err);
    status = apiError.status;
    json = { error: apiError.message, status };
    // http.Error in Go ends the body with a newline.
    response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(json)}\n`);
    return;
  }
  if (json === undefined) response.writeHead(status).end();
  else response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
}

// Our errors, as the API reports them: a bad toxic is the client's mistake (400), the rest is ours (500).
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isWirestackError(err) && err.code === 'ERR_WIRESTACK_INVALID_ARGUMENT') {
    const plain = /^(invalid toxic type|stream was invalid)/.test(err.message);
    return new ApiError(400, plain ? err.message : `bad request body: ${err.message}`);
  }
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badBody((err as Error).message);
  }
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badBody('expected a JSON object');
  return value as Record<string, unknown>;
}

function find(registry: ProxyRegistry, name: string): Proxy {
  const found = registry.proxies.get(name);
  if (!found) throw proxyNotFound();
  return found;
}

function findToxic(proxy: Proxy, name: string): Toxic {
  const toxic = proxy.toxic(name);
  if (!toxic) throw toxicNotFound();
  return toxic;
}

/** A proxy as Toxiproxy shows one. */
function proxyJson(proxy: Proxy): unknown {
  const listen = proxy.enabled ? proxy.address() : proxy.listen;
  return {
    name: proxy.name,
    listen: 'path' in listen ? `unix:${listen.path}` : describeTarget({ host: listen.host ?? '', port: listen.port }),
    upstream: 'path' in proxy.target ? `unix:${proxy.target.path}` : describeTarget(proxy.target),
    enabled: proxy.enabled,
    toxics: proxy.toxics.map(toxicJson),
  };
}

function toxicJson(toxic: Toxic): unknown {
  return { attributes: toxic.attributes, name: toxic.name, type: toxic.type, stream: toxic.stream, toxicity: toxic.toxicity };
}

// "127.0.0.1:8474", "localhost:0", ":26379" (every interface), "[::1]:80".
function address(text: unknown, field: string): Target {
  if (typeof text !== 'string') throw badBody(`${field} must be a string`);
  try {
    if (text.startsWith(':')) return { port: parseHostPort(`0.0.0.0${text}`, false).port };
    const { host, port } = parseHostPort(text, false);
    return { host: host!, port };
  } catch (err) {
    throw badBody(`${field}: ${(err as Error).message}`);
  }
}

interface ProxyFields {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

// The fields of a proxy to create, with Toxiproxy's defaults and its errors for missing ones.
function proxyFields(value: unknown, where = ''): ProxyFields {
  const body = record(value);
  const { name, upstream, listen = '127.0.0.1:0', enabled = true } = body;
  if (typeof name !== 'string' || name === '') throw new ApiError(400, `missing required field: name${where}`);
  if (typeof upstream !== 'string' || upstream === '') throw new ApiError(400, `missing required field: upstream${where}`);
  if (typeof enabled !== 'boolean') throw badBody('enabled must be true or false');
  return { name, upstream, listen: listen as string, enabled };
}

async function createProxy(registry: ProxyRegistry, _: string[], body: () => Promise<unknown>): ReturnType<Handler> {
  const fields = proxyFields(await body());
  if (registry.proxies.has(fields.name)) throw new ApiError(409, 'proxy already exists');
  const made = await registry.create(fields.name, address(fields.listen, 'listen'), address(fields.upstream, 'upstream'), fields.enabled);
  return { status: 201, json: proxyJson(made) };
}

// Toxiproxy's populate: create or replace each; one that is the same is left as it is.
async function populate(registry: ProxyRegistry, _: string[], body: () => Promise<unknown>): ReturnType<Handler> {
  const list = await body();
  if (!Array.isArray(list)) throw badBody('expected a JSON array of proxies');
  const fields = list.map((item, i) => proxyFields(item, ` at proxy ${i + 1}`));
  const done: Proxy[] = [];
  try {
    for (const f of fields) {
      const existing = registry.proxies.get(f.name);
      if (existing && proxyJsonField(existing, 'upstream') === f.upstream && sameListen(existing, f.listen)) {
        done.push(existing);
        continue;
      }
      await existing?.close();
      registry.proxies.delete(f.name);
      done.push(await registry.create(f.name, address(f.listen, 'listen'), address(f.upstream, 'upstream'), f.enabled));
    }
  } catch (err) {
    const apiError = toApiError(err);
    return { status: apiError.status, json: { error: apiError.message, status: apiError.status, proxies: done.map(proxyJson) } };
  }
  return { status: 201, json: { proxies: done.map(proxyJson) } };
}

function proxyJsonField(proxy: Proxy, field: 'listen' | 'upstream'): string {
  return (proxyJson(proxy) as Record<string, string>)[field]!;
}

function sameListen(proxy: Proxy, listen: string): boolean {
  return proxyJsonField(proxy, 'listen') === listen;
}

// Toxiproxy's update: the fields not given keep their values; a new listen or upstream restarts the proxy.
async function updateProxy(registry: ProxyRegistry, [name]: string[], body: () => Promise<unknown>): ReturnType<Handler> {
  const proxy = find(registry, name!);
  const change = record(await body());
  const listen = change.listen ?? proxyJsonField(proxy, 'listen');
  const upstream = change.upstream ?? proxyJsonField(proxy, 'upstream');
  const enabled = change.enabled ?? proxy.enabled;
  if (typeof enabled !== 'boolean') throw badBody('enabled must be true or false');
  if (listen !== proxyJsonField(proxy, 'listen') || upstream !== proxyJsonField(proxy, 'upstream')) {
    await proxy.update({ listen: address(listen, 'listen'), target: address(upstream, 'upstream') });
  }
  if (enabled && !proxy.enabled) await proxy.enable();
  if (!enabled && proxy.enabled) await proxy.disable();
  return { status: 200, json: proxyJson(proxy) };
}

async function deleteProxy(registry: ProxyRegistry, [name]: string[]): ReturnType<Handler> {
  const proxy = find(registry, name!);
  registry.proxies.delete(name!);
  await proxy.close();
  return { status: 204 };
}

async function reset(registry: ProxyRegistry): ReturnType<Handler> {
  for (const proxy of registry.proxies.values()) {
    await proxy.enable();
    for (const toxic of [...proxy.toxics]) proxy.removeToxic(toxic.name);
  }
  return { status: 204 };
}

async function createToxic(registry: ProxyRegistry, [name]: string[], body: () => Promise<unknown>): ReturnType<Handler> {
  const proxy = find(registry, name!);
  const spec = record(await body());
  const stream = spec.stream ?? 'downstream';
  const toxicName = spec.name ?? `${String(spec.type)}_${String(stream)}`;
  if (typeof toxicName === 'string' && proxy.toxic(toxicName)) throw new ApiError(409, 'toxic already exists');
  const toxic = proxy.addToxic({
    type: spec.type as string,
    name: toxicName as string,
    stream: stream as string,
    ...(spec.attributes === undefined ? {} : { attributes: spec.attributes as Record<string, unknown> }),
    ...(spec.toxicity === undefined ? {} : { toxicity: spec.toxicity as number }),
  });
  // Toxiproxy answers a new toxic with 200, not 201.
  return { status: 200, json: toxicJson(toxic) };
}

async function updateToxicRoute(registry: ProxyRegistry, [name, toxicName]: string[], body: () => Promise<unknown>): ReturnType<Handler> {
  const proxy = find(registry, name!);
  findToxic(proxy, toxicName!);
  const change = record(await body());
  const toxic = proxy.updateToxic(toxicName!, {
    ...(change.attributes === undefined ? {} : { attributes: change.attributes as Record<string, unknown> }),
    ...(change.toxicity === undefined ? {} : { toxicity: change.toxicity as number }),
  });
  return { status: 200, json: toxicJson(toxic) };
}

async function deleteToxic(registry: ProxyRegistry, [name, toxicName]: string[]): ReturnType<Handler> {
  const proxy = find(registry, name!);
  if (!proxy.removeToxic(toxicName!)) throw toxicNotFound();
  return { status: 204 };
}
