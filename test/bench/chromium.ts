/**
 * Headless Chromium started without any debugger session attached: the bench spawns the binary
 * itself and opens tabs through the DevTools HTTP endpoint (`/json/new`), which attaches nothing.
 * An attached Playwright session turns on network events and is told about every WebSocket frame,
 * which costs the page's socket about half its throughput (docs/performance.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBrowserArgs, findBrowser } from '../../launcher/find-browser.js';
import { removeProfile } from '../../launcher/profile-dir.js';

/** A running browser and what the bench does with it. */
export interface BenchBrowser {
  /** `http://127.0.0.1:PORT`, the DevTools HTTP endpoint (for connectOverCDP too). */
  readonly endpoint: string;
  readonly path: string;
  /** Chromium's main process. */
  readonly pid: number;
  /** Opens a tab at `url`; resolves with its target id. */
  open(url: string): Promise<string>;
  /** Closes a tab. */
  closeTab(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts headless Chromium with the project's default flags and a throwaway profile. */
export async function startBrowser(): Promise<BenchBrowser> {
  const { path } = findBrowser();
  const profile = mkdtempSync(join(tmpdir(), 'pagecall-bench-'));
  const args = [
    '--headless',
    ...defaultBrowserArgs(),
    '--no-sandbox',
    // Every tab runs at full speed whether or not it is in front (Playwright passes these too).
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-renderer-backgrounding',
    '--remote-debugging-port=0',
    '--remote-debugging-address=127.0.0.1',
    `--user-data-dir=${profile}`,
    'about:blank',
  ];
  const child: ChildProcess = spawn(path, [...new Set(args)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not print its DevTools endpoint within 20 s:\n${text.slice(-2000)}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /DevTools listening on ws:\/\/([^/\s]+)\//.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(`http://${match[1]}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with ${code}:\n${text.slice(-2000)}`));
    });
  });
  // Keep draining stderr so Chromium never blocks on a full pipe.
  child.stderr!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    endpoint,
    path,
    pid: child.pid!,
    async open(url) {
      const res = await fetch(`${endpoint}/json/new?${encodeURIComponent(url)}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`/json/new answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async closeTab(id) {
      await fetch(`${endpoint}/json/close/${id}`);
    },
    async close() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
      // Waits for Chromium's helper processes to let go of the profile, then removes it.
      try {
        await removeProfile(profile);
      } catch (error) {
        process.stderr.write(`bench: could not remove the browser profile ${profile}: ${(error as Error).message}\n`);
      }
    },
  };
}
