/** Serves the built page injector, preconfigured to connect back to this bridge. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WS_PATH } from '../protocol/index.js';
import { packageRoot } from './package-root.js';

let bundle: string | undefined;

/** The minified injector bundle (built by `npm run build`). */
export function injectorBundle(): string {
  if (bundle === undefined) {
    const file = join(packageRoot(), 'dist', 'injector', 'pagecall.js');
    if (!existsSync(file)) throw new Error(`pagecall: ${file} is missing; run npm run build`);
    bundle = readFileSync(file, 'utf8');
  }
  return bundle;
}

/** Where and how an injected page connects. */
export interface InjectorSettings {
  /** Bridge base URL as the page should reach it, e.g. `http://127.0.0.1:12180`. */
  bridgeUrl: string;
  group: string;
  token?: string;
  /** The page key (or a group-scoped key) the page proves itself with. */
  key?: string;
  clientId?: string;
}

/** The page WebSocket URL for a bridge base URL. */
export function wsUrlFor(bridgeUrl: string): string {
  const url = new URL(WS_PATH, bridgeUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** The bundle followed by a connect call: paste it, load it as a script, or add it as an init script. */
export function injectorScript(settings: InjectorSettings): string {
  const options: Record<string, string> = { url: wsUrlFor(settings.bridgeUrl), group: settings.group };
  if (settings.token !== undefined) options.token = settings.token;
  if (settings.key !== undefined) options.key = settings.key;
  if (settings.clientId !== undefined) options.clientId = settings.clientId;
  // JSON.stringify output can hold U+2028/2029 and "</script>", both unsafe inside inline scripts.
  const literal = JSON.stringify(options).replace(/[\u2028\u2029<]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${injectorBundle()}\n;globalThis[Symbol.for('pagecall')].connect(${literal});\n`;
}

/** A one-line loader to paste into the DevTools console of a page without a strict CSP. */
export function loaderSnippet(bridgeUrl: string, group: string, token?: string): string {
  const src = new URL('/injector.js', bridgeUrl);
  src.searchParams.set('group', group);
  if (token !== undefined) src.searchParams.set('token', token);
  return `document.head.append(Object.assign(document.createElement('script'), {src: ${JSON.stringify(src.href)}}))`;
}
