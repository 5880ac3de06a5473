// Real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) on a page served from 127.0.0.1, from which tests import
// the browser build (dist/browser) as any page would: no import map, no
// polyfill, nothing configured.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..', '..');

// Without the background-networking flags Chromium's own connections are
// refused by this machine's closed network, and it stalls.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A page in a fresh Chromium, and how to end it all. */
export interface BrowserPage {
  readonly page: Page;
  /** The page's origin, `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Lines the page printed (console) and its uncaught errors, for failure messages. */
  readonly log: string[];
  close(): Promise<void>;
}

/** Starts the HTTP server and Chromium, and opens the (empty) test page. */
export async function openPage(): Promise<BrowserPage> {
  const server = http.createServer((request, response) => void serve(request.url ?? '/', response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const profile = mkdtempSync(join(tmpdir(), 'wirestack-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  } catch (err) {
    server.close();
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium did not start from ${CHROMIUM} (apt-get install chromium; .ci/run does): ${String(err)}`);
  }
  const page = await context.newPage();
  const log: string[] = [];
  page.on('console', (message) => log.push(`console: ${message.text()}`));
  page.on('pageerror', (error) => log.push(`page error: ${error.message}`));
  await page.goto(`${origin}/`);
  return {
    page,
    origin,
    log,
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Calls `name` of test/runtimes/page.js inside the page with `arg`, and
 * resolves with its result. The call is a string, so that nothing the test
 * runner adds to compiled functions ends up in the page.
 */
export function runInPage<T>(page: Page, name: string, arg: unknown = {}): Promise<T> {
  return page.evaluate(`import('/test/runtimes/page.js').then((tests) => tests[${JSON.stringify(name)}](${JSON.stringify(arg)}))`) as Promise<T>;
}

// The page itself, the files of dist/browser and page.js; nothing else.
async function serve(url: string, response: http.ServerResponse): Promise<void> {
  const path = normalize(new URL(url, 'http://localhost').pathname);
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><meta charset="utf-8"><title>wirestack in a browser</title><link rel="icon" href="data:,">');
    return;
  }
  if (!path.startsWith('/dist/browser/') && path !== '/test/runtimes/page.js') {
    response.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(join(ROOT, path));
    response.writeHead(200, { 'content-type': path.endsWith('.js') ? 'text/javascript' : 'application/json' });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
}
