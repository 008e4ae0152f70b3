/** The dashboard's built files (dist/dashboard/, made by `npm run build`), read once and kept. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** A file the bridge serves for the dashboard. */
export interface Asset {
  body: Buffer;
  type: string;
}

/** URL path → file in dist/dashboard/. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Asset>();

/** The URL paths of the dashboard's files. */
export const DASHBOARD_PATHS: readonly string[] = Object.keys(FILES);

/** The asset at `path`; throws with a hint when the dashboard has not been built. */
export function dashboardAsset(path: string): Asset {
  let asset = cache.get(path);
  if (!asset) {
    const { file, type } = FILES[path]!;
    const full = join(packageRoot(), 'dist', 'dashboard', file);
    if (!existsSync(full)) throw new Error(`pagecall: ${full} is missing; run npm run build`);
    asset = { body: readFileSync(full), type };
    cache.set(path, asset);
  }
  return asset;
}

/**
 * Defence in depth for the dashboard: it only ever loads its own script and stylesheet and talks to
 * its own origin, so an injected tag (were one ever to slip through) could neither run nor phone home.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
