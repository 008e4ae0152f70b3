/** Test fixture: one real headless Chromium, and a tiny site to load pages from. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { defaultBrowserArgs, findBrowser } from '../../launcher/find-browser.js';

/** Launches headless Chromium with the project's default flags (plus `args`). */
export async function launchTestBrowser(args: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: findBrowser().path, headless: true, args: [...defaultBrowserArgs(), ...args] });
}

/** A site on 127.0.0.1:0 serving the given routes. */
export interface TestSite {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Route = string | { body: string; type?: string; headers?: Record<string, string> } | ((req: IncomingMessage, res: ServerResponse) => void);

/** Serves HTML (strings) or handlers at paths. */
export async function startSite(routes: Record<string, Route>): Promise<TestSite> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (route === undefined) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    if (typeof route === 'function') {
      route(req, res);
      return;
    }
    const { body, type, headers } = typeof route === 'string' ? { body: route, type: 'text/html', headers: {} } : route;
    res.writeHead(200, { 'content-type': `${type ?? 'text/html'}; charset=utf-8`, ...headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
