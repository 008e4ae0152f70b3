/**
 * The one script that puts pagecall into a realm, for the launcher's init scripts, attach() and
 * userscripts alike: first the realm check (dist/injector/gate.js), then — only where the realm
 * joins — the injector, its connect() with the key, and the user's hook scripts, each in its own
 * try/catch so one failing hook neither stops the others nor the client. A frame that does not
 * join (an ad, `about:blank`, an error page) evaluates nothing past the check: the key and the
 * hooks are never evaluated there.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Script } from 'node:vm';
import { injectorBundle, wsUrlFor } from '../bridge/injector-script.js';
import { packageRoot } from '../bridge/package-root.js';
import type { FrameRule } from './frame-rule.js';

/** A hook script: its name (the file, for messages) and its source. */
export interface HookSource {
  name: string;
  content: string;
}

/** Raised when a hook script cannot be read or does not parse; the message names the file (and line). */
export class HookScriptError extends Error {
  override readonly name = 'HookScriptError';
}

/** Hook scripts as launch() and attach() take them: file paths, or inline sources. */
export type ScriptsOption = Array<string | { content: string; name?: string }>;

/** Reads hook files and checks every script parses, so a typo is reported now with its line, not as a silent page error. */
export async function loadHooks(scripts: ScriptsOption | undefined): Promise<HookSource[]> {
  const hooks = await Promise.all(
    (scripts ?? []).map(async (s, i): Promise<HookSource> => {
      if (typeof s !== 'string') return { name: s.name ?? `script ${i + 1}`, content: s.content };
      try {
        return { name: basename(s), content: await readFile(s, 'utf8') };
      } catch (error) {
        throw new HookScriptError(`cannot read hook script ${s}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }),
  );
  for (const hook of hooks) checkHookSyntax(hook);
  return hooks;
}

/** Throws HookScriptError when `hook` is not a valid classic script (as the page would parse it). */
export function checkHookSyntax(hook: HookSource): void {
  try {
    new Script(hook.content, { filename: hook.name });
  } catch (error) {
    const e = error as Error;
    const line = /:(\d+)\n/.exec(e.stack ?? '')?.[1];
    throw new HookScriptError(`hook script ${hook.name}${line ? ` line ${line}` : ''}: ${e.name}: ${e.message}`);
  }
}

/**
 * Names the hooks pass literally to `pagecall.register(...)` or `pagecall.expose(...)`: what a tab
 * must offer before it counts as ready when no `waitFor` list is given.
 */
export function actionsNamedIn(hooks: readonly HookSource[]): string[] {
  const names = new Set<string>();
  const pattern = /\bpagecall\s*\.\s*(?:register|expose)\s*\(\s*(['"`])([^'"`\\\n$]+)\1/g;
  for (const { content } of hooks) for (const match of content.matchAll(pattern)) names.add(match[2]!);
  return [...names];
}

let gate: string | undefined;

/** The realm check bundle (built by `npm run build`). */
export function gateBundle(): string {
  if (gate === undefined) {
    const file = join(packageRoot(), 'dist', 'injector', 'gate.js');
    try {
      gate = readFileSync(file, 'utf8');
    } catch {
      throw new Error(`pagecall: ${file} is missing; run npm run build`);
    }
  }
  return gate;
}

/** Where the script connects and what it runs. */
export interface PageScriptOptions {
  /** Bridge base URL as pages reach it. */
  bridgeUrl: string;
  group: string;
  /** The page key (or a group-scoped key) that admits the page; evaluated only in realms that join. */
  key?: string;
  /** Which frames join besides top documents (default: top only). */
  frames?: FrameRule;
  hooks?: readonly HookSource[];
  /**
   * The client id: `{ tab }` for a launcher tab (its top document joins with it, its frames as
   * `<tab>-f<random>`), `{ exact }` for one realm (a worker the launcher reached). Absent: the page
   * makes up its own id and keeps it in sessionStorage.
   */
  clientId?: { tab: string } | { exact: string };
}

/** Where the hook failures of a realm are kept for the launcher to read (a non-enumerable global). */
export const HOOK_FAILURES_KEY = 'pagecall.hookFailures';

/** A JSON literal safe inside an inline script (U+2028/2029 and `<` escaped). */
export function scriptLiteral(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029<]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The script: realm check, then (where the realm joins) injector, connect, hooks. */
export function pageScript(options: PageScriptOptions): string {
  const rule: FrameRule = options.frames ?? { frames: 'top' };
  const settings: Record<string, string> = { url: wsUrlFor(options.bridgeUrl), group: options.group };
  if (options.key !== undefined) settings.key = options.key;
  const hookFailures = `globalThis[Symbol.for(${scriptLiteral(HOOK_FAILURES_KEY)})]`;
  let clientId = '';
  if (options.clientId && 'tab' in options.clientId) {
    const { tab } = options.clientId;
    clientId = `settings.clientId = realm.context === 'top' ? ${scriptLiteral(tab)} : ${scriptLiteral(`${tab}-f`)} + Math.random().toString(36).slice(2, 10);\n`;
  } else if (options.clientId) {
    clientId = `settings.clientId = ${scriptLiteral(options.clientId.exact)};\n`;
  }
  const hooks = (options.hooks ?? []).map(
    (hook) =>
      `try {\n${hook.content}\n} catch (error) {\n` +
      `  ${hookFailures}.push({ script: ${scriptLiteral(hook.name)}, name: String(error && error.name || 'Error'), message: String(error && error.message || error), stack: String(error && error.stack || '') });\n` +
      `  console.error(${scriptLiteral(`pagecall: hook script ${hook.name} failed:`)}, error);\n}\n`,
  );
  return (
    `if ((function () {\n` +
    `${gateBundle()}\n` +
    `var realm = __pagecallGate.decideHere(${scriptLiteral(rule)});\n` +
    `if (!realm.join) return false;\n` +
    // Once per realm: a realm reached twice (an init script, then an evaluation of the same script) keeps the first.
    `if (Object.getOwnPropertyDescriptor(globalThis, Symbol.for(${scriptLiteral(HOOK_FAILURES_KEY)}))) return false;\n` +
    `${injectorBundle()}\n` +
    `Object.defineProperty(globalThis, Symbol.for(${scriptLiteral(HOOK_FAILURES_KEY)}), { value: [], configurable: true });\n` +
    `var settings = ${scriptLiteral(settings)};\n` +
    clientId +
    `globalThis[Symbol.for('pagecall')].connect(settings);\n` +
    `return true;\n` +
    `})()) {\n${hooks.join('')}}\n`
  );
}
