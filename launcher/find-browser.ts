/**
 * Finding a Chromium-family browser: an explicit path, then PAGECALL_BROWSER, then Playwright's own
 * installed browser, then the usual command names on PATH, then well-known install locations.
 * No download is ever attempted.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium } from 'playwright-core';

/** Raised when no browser can be found; the message says how to get one. */
export class BrowserNotFoundError extends Error {
  override readonly name = 'BrowserNotFoundError';
}

/** Command names looked up on PATH, most specific first (Chromium, then Chrome, then Edge). */
export const PATH_NAMES: readonly string[] = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome', 'msedge', 'microsoft-edge'];

const SYSTEM_PATHS: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/usr/bin/microsoft-edge', '/snap/bin/chromium'],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
  ],
  win32: [
    join(process.env['PROGRAMFILES'] ?? 'C:\\Program Files', 'Google\\Chrome\\Application\\chrome.exe'),
    join(process.env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)', 'Google\\Chrome\\Application\\chrome.exe'),
    join(process.env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'Google\\Chrome\\Application\\chrome.exe'),
    join(process.env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)', 'Microsoft\\Edge\\Application\\msedge.exe'),
  ],
};

/** Where a browser was found and by which rule. */
export interface FoundBrowser {
  path: string;
  source: 'option' | 'env' | 'playwright' | 'path' | 'system';
}

/** The places looked at besides --browser and the environment (tests pass their own). */
export interface BrowserSearch {
  /** Playwright's own Chromium for this playwright-core version, when it knows one. */
  playwright: string | undefined;
  /** Well-known install locations. */
  system: readonly string[];
  /** Platform whose PATH rules apply (`win32` adds the PATHEXT extensions). */
  platform: NodeJS.Platform;
}

/** The real places for this machine. */
export function defaultBrowserSearch(): BrowserSearch {
  let playwright: string | undefined;
  try {
    playwright = chromium.executablePath();
  } catch {
    // playwright-core knows no path on this platform
  }
  return { playwright, system: SYSTEM_PATHS[process.platform] ?? [], platform: process.platform };
}

/** The directories of PATH, in order. */
function pathDirs(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] {
  return (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : delimiter).filter(Boolean);
}

/** Every PATH candidate in lookup order: each name in every PATH directory, before the next name. */
function pathCandidates(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] {
  const dirs = pathDirs(env, platform);
  const extensions = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean).map((e) => e.toLowerCase()) : [''];
  return PATH_NAMES.flatMap((name) => dirs.flatMap((dir) => extensions.map((ext) => join(dir, name + ext))));
}

/** Every place looked at, in order. */
export function browserCandidates(explicit?: string, env: NodeJS.ProcessEnv = process.env, search: BrowserSearch = defaultBrowserSearch()): FoundBrowser[] {
  const out: FoundBrowser[] = [];
  if (explicit) out.push({ path: explicit, source: 'option' });
  if (env.PAGECALL_BROWSER) out.push({ path: env.PAGECALL_BROWSER, source: 'env' });
  if (search.playwright) out.push({ path: search.playwright, source: 'playwright' });
  for (const path of pathCandidates(env, search.platform)) out.push({ path, source: 'path' });
  for (const path of search.system) out.push({ path, source: 'system' });
  return out;
}

/** Why `path` cannot be run as a browser, or undefined when it can. */
function unusable(path: string, platform: NodeJS.Platform): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a file';
    if (platform !== 'win32') accessSync(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EACCES' ? 'not executable' : String(code ?? error);
  }
}

/**
 * Finds a browser or throws BrowserNotFoundError with what to do. A path given with --browser or
 * PAGECALL_BROWSER must work: it is never silently replaced by another browser.
 */
export function findBrowser(explicit?: string, env: NodeJS.ProcessEnv = process.env, search: BrowserSearch = defaultBrowserSearch()): FoundBrowser {
  const candidates = browserCandidates(explicit, env, search);
  for (const candidate of candidates) {
    const problem = unusable(candidate.path, search.platform);
    if (problem === undefined) return candidate;
    if (candidate.source === 'option' || candidate.source === 'env') {
      const from = candidate.source === 'option' ? '--browser' : 'PAGECALL_BROWSER';
      throw new BrowserNotFoundError(`no browser at ${candidate.path} (from ${from}): ${problem}`);
    }
  }
  const dirs = pathDirs(env, search.platform).length;
  throw new BrowserNotFoundError(
    [
      'no Chromium-family browser found. Looked in:',
      ...candidates.filter((c) => c.source === 'playwright').map((c) => `  ${c.path}`),
      `  PATH (${dirs} ${dirs === 1 ? 'directory' : 'directories'}) for ${PATH_NAMES.join(', ')}`,
      ...candidates.filter((c) => c.source === 'system').map((c) => `  ${c.path}`),
      'Get one with any of:',
      '  Debian/Ubuntu:  sudo apt-get install -y chromium',
      '  Playwright:     npx playwright install chromium',
      '  or point pagecall at one: --browser /path/to/chrome (or PAGECALL_BROWSER=/path/to/chrome)',
    ].join('\n'),
  );
}

/** Flags every launch uses: no phoning home, and --no-sandbox when running as root (Chromium requires it). */
export function defaultBrowserArgs(): string[] {
  const args = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--no-default-browser-check'];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return args;
}
