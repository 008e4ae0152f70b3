/**
 * The page injector as the bridge hands it out: the built bundle, the connect call a page needs
 * (with its key), and the one-line console snippet. A key never goes into a script URL: the site's
 * scripts can read every URL the page loaded back (performance.getEntriesByType('resource')).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WS_PATH } from '../protocol/index.js';
import { packageRoot } from './package-root.js';

const bundles = new Map<string, string>();

function builtFile(name: string): string {
  let text = bundles.get(name);
  if (text === undefined) {
    const file = join(packageRoot(), 'dist', 'injector', name);
    if (!existsSync(file)) throw new Error(`pagecall: ${file} is missing; run npm run build`);
    text = readFileSync(file, 'utf8');
    bundles.set(name, text);
  }
  return text;
}

/** The minified injector bundle (built by `npm run build`). */
export function injectorBundle(): string {
  return builtFile('pagecall.js');
}

/**
 * The injector as an ES module (served at /injector.mjs): importing it installs pagecall once per
 * realm, as `globalThis.pagecall` too, and its default export is that instance.
 */
export function injectorModule(): string {
  return builtFile('pagecall.served.mjs');
}

/** Where and how an injected page connects. */
export interface InjectorSettings {
  /** Bridge base URL as the page should reach it, e.g. `http://127.0.0.1:12180`. */
  bridgeUrl: string;
  group: string;
  /** Shared secret of the bridge: admits a page like the page key does. Prefer `key`. */
  token?: string;
  /** The page key (or a group-scoped key, Bridge.groupKey()) the page proves itself with. */
  key?: string;
  clientId?: string;
}

/** The page WebSocket URL for a bridge base URL. */
export function wsUrlFor(bridgeUrl: string): string {
  const url = new URL(WS_PATH, bridgeUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** A value as a JavaScript literal that is safe inside an inline script (no U+2028/2029, no `</script>`). */
function literal(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029<]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The options of `pagecall.connect()` for these settings, as a literal. */
function connectOptions(settings: InjectorSettings): string {
  const options: Record<string, string> = { url: wsUrlFor(settings.bridgeUrl), group: settings.group };
  if (settings.token !== undefined) options.token = settings.token;
  if (settings.key !== undefined) options.key = settings.key;
  if (settings.clientId !== undefined) options.clientId = settings.clientId;
  return literal(options);
}

/** The bundle followed by a connect call: paste it, load it as a userscript, or add it as an init script. */
export function injectorScript(settings: InjectorSettings): string {
  return `${injectorBundle()}\n;globalThis[Symbol.for('pagecall')].connect(${connectOptions(settings)});\n`;
}

/**
 * A one-line snippet to paste into the DevTools console of a page without a strict CSP: it imports
 * the injector module from the bridge (no key in its URL) and connects with `key`. Without a key it
 * connects only to a bridge started with --open-pages.
 */
export function loaderSnippet(bridgeUrl: string, group: string, key?: string): string {
  const src = new URL('/injector.mjs', bridgeUrl).href;
  // An async function, not a .then() callback: the key stays in code the page's scripts never get
  // a reference to (a patched Promise.prototype.then would receive a callback).
  return `(async () => (await import(${literal(src)})).default.connect(${connectOptions({ bridgeUrl, group, ...(key !== undefined ? { key } : {}) })}))()`;
}

/**
 * What /injector.js serves when asked to connect a page it cannot give a key: the bundle (so
 * `pagecall` exists) and a console warning that says exactly how to get a snippet that connects.
 */
export function keylessInjectorScript(bridgeUrl: string, group: string, asked: 'group' | 'secret'): string {
  const why =
    asked === 'secret'
      ? 'keys and tokens are no longer taken from script URLs (the site\'s scripts can read every URL the page loaded)'
      : 'this bridge admits only pages that carry its page key, and a script URL cannot carry it safely (the site\'s scripts can read every URL the page loaded)';
  const message =
    `pagecall: not connecting: ${why}. Get the snippet for group "${group}": run \`pagecall injector --group ${group}\` and paste its output, ` +
    `or open the dashboard at ${new URL('/', bridgeUrl).href} (Injector → Copy snippet). ` +
    `Or connect by hand with the key from \`pagecall key --group ${group}\`: pagecall.connect({url: '${wsUrlFor(bridgeUrl)}', group: '${group}', key: '<key>'})`;
  return `${injectorBundle()}\n;console.warn(${literal(message)});\n`;
}
