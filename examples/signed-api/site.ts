/**
 * The example signed-API site: its JSON API answers only requests signed by the page's minified
 * SDK (a secret, the path, a timestamp within 60 s and a nonce that may be used once).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../bridge/package-root.js';

const SEED = [0x37, 0x20, 0x6d, 0x2a, 0x75, 0x3f, 0x24, 0x60, 0x70, 0x2e, 0x33, 0x79, 0x6c, 0x3b, 0x21, 0x2f];
const SECRET = SEED.map((b, i) => String.fromCharCode(b ^ (0x42 + i))).join('');
const MAX_SKEW_MS = 60_000;

/** The signature the SDK computes (the site's server knows it; scrapers do not). */
export function expectedSign(path: string, ts: string, nonce: string): string {
  const text = `${SECRET}|${path}|${ts}|${nonce}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ ((c + i) & 0xff), 0x5bd1e995) >>> 0;
    h2 = (h2 ^ (h2 >>> 13)) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** The catalogue page `n` returns. */
export function itemsPage(n: number): Array<{ id: number; name: string; price: number }> {
  return Array.from({ length: 10 }, (_, i) => {
    const id = (n - 1) * 10 + i + 1;
    return { id, name: `item-${id}`, price: Math.round(((id * 7919) % 10_000) / 10) / 10 };
  });
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed catalogue</title></head>
<body><h1>Catalogue</h1><ul id="items"></ul>
<script src="/static/sdk.js"></script>
<script>
  const client = new SDK.Client();
  client.getJson('/api/items?page=1').then((data) => {
    for (const item of data.items) {
      const li = document.createElement('li');
      li.textContent = item.name + ' — ' + item.price;
      document.getElementById('items').append(li);
    }
  });
</script>
</body></html>`;

/** A running signed-API site, with counters of what it accepted and refused. */
export interface SignedApiSite {
  url: string;
  stats: { accepted: number; refused: number };
  close(): Promise<void>;
}

/** Starts the site on 127.0.0.1. */
export async function startSignedApi(options: { port?: number } = {}): Promise<SignedApiSite> {
  const sdkFile = join(packageRoot(), 'dist', 'examples', 'signed-api', 'sdk.js');
  const seen = new Map<string, number>();
  const stats = { accepted: 0, refused: 0 };
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    if (path === '/static/sdk.js') {
      try {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(await readFile(sdkFile));
      } catch {
        res.writeHead(500).end('sdk missing: run npm run build');
      }
      return;
    }
    if (path === '/api/items') {
      const ts = String(req.headers['x-ts'] ?? '');
      const nonce = String(req.headers['x-nonce'] ?? '');
      const sign = String(req.headers['x-sign'] ?? '');
      const now = Date.now();
      for (const [n, at] of seen) if (now - at > MAX_SKEW_MS) seen.delete(n);
      const fresh = Math.abs(now - Number(ts)) <= MAX_SKEW_MS;
      if (!fresh || !nonce || seen.has(nonce) || sign !== expectedSign(url, ts, nonce)) {
        stats.refused++;
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: !fresh ? 'stale timestamp' : seen.has(nonce) ? 'nonce reused' : 'bad signature' }));
        return;
      }
      seen.set(nonce, now);
      stats.accepted++;
      const page = Math.max(1, Number(new URLSearchParams(url.split('?')[1] ?? '').get('page')) || 1);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ page, items: itemsPage(page) }));
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
