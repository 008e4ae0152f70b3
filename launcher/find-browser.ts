/**
 * Finding a Chromium-family browser: an explicit path, then PAGECALL_BROWSER, then Playwright's own
 * installed browsers, then well-known system locations. No download is ever attempted.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Raised when no browser can be found; the message says how to get one. */
export class BrowserNotFoundError extends Error {
  override readonly name = 'BrowserNotFoundError';
}

const SYSTEM_PATHS: Record<string, string[]> = {
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
  source: 'option' | 'env' | 'playwright' | 'system';
}

/** Every place looked at, in order (for error messages and `--help`). */
export function browserCandidates(explicit?: string, env: NodeJS.ProcessEnv = process.env): Array<FoundBrowser> {
  const out: FoundBrowser[] = [];
  if (explicit) out.push({ path: explicit, source: 'option' });
  if (env.PAGECALL_BROWSER) out.push({ path: env.PAGECALL_BROWSER, source: 'env' });
  try {
    out.push({ path: chromium.executablePath(), source: 'playwright' });
  } catch {
    // playwright-core knows no path on this platform
  }
  for (const path of SYSTEM_PATHS[process.platform] ?? []) out.push({ path, source: 'system' });
  return out;
}

/** Finds a browser or throws BrowserNotFoundError with what to do. */
export function findBrowser(explicit?: string, env: NodeJS.ProcessEnv = process.env): FoundBrowser {
  const candidates = browserCandidates(explicit, env);
  for (const candidate of candidates) {
    if (existsSync(candidate.path)) return candidate;
    if (candidate.source === 'option' || candidate.source === 'env') {
      throw new BrowserNotFoundError(`no browser at ${candidate.path} (from ${candidate.source === 'option' ? '--browser' : 'PAGECALL_BROWSER'})`);
    }
  }
  throw new BrowserNotFoundError(
    [
      'no Chromium-family browser found. Looked in:',
      ...candidates.map((c) => `  ${c.path}`),
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
