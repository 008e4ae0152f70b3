/**
 * Starting Chromium for the launcher: spawned directly with `--remote-debugging-pipe` (a DevTools
 * channel on file descriptors 3 and 4, not a port other processes could reach), its own profile
 * (a temporary one unless the user gives a persistent `--user-data-dir`), and stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CdpConnection } from './cdp/connection.js';
import { pipeTransport } from './cdp/transports.js';
import { defaultBrowserArgs } from './find-browser.js';
import { removeProfile } from './profile-dir.js';

/** Chrome features that block a public page from reaching 127.0.0.1 (see docs/injector.md). */
export const LNA_DISABLE_FLAG = '--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets';

/** How to start the browser. */
export interface ChromiumOptions {
  executablePath: string;
  headless: boolean;
  /** Extra flags, after the launcher's own (a later flag wins in Chromium). */
  args?: string[];
  /** A persistent profile (logins kept between runs); a temporary one is made and removed otherwise. */
  userDataDir?: string;
  /** `--proxy-server` value, e.g. `http://127.0.0.1:8080` or `socks5://127.0.0.1:1080`. */
  proxy?: string;
  /** Also open a DevTools port on 127.0.0.1 (0: any free port) for tools of the user's own, such as Playwright. */
  remoteDebuggingPort?: number;
}

/** Raised when the browser cannot be started; the message carries the end of its output. */
export class BrowserStartError extends Error {
  override readonly name = 'BrowserStartError';
}

/** A running Chromium and its DevTools connection. */
export interface ChromiumProcess {
  readonly connection: CdpConnection;
  readonly pid: number;
  /** The profile in use. */
  readonly userDataDir: string;
  /** `http://127.0.0.1:PORT` when a debugging port was asked for. */
  readonly endpoint: string | undefined;
  /** Resolves when the browser process has exited (for whatever reason). */
  readonly exited: Promise<void>;
  /** Asks the browser to close, kills it after a grace period, removes a temporary profile. */
  close(): Promise<void>;
}

/** The command-line flags for `options`, in order. */
export function chromiumArgs(options: ChromiumOptions, userDataDir: string): string[] {
  const args = [
    ...defaultBrowserArgs(),
    LNA_DISABLE_FLAG,
    // A pool of tabs must all run at full speed, not only the one in front.
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-renderer-backgrounding',
    '--remote-debugging-pipe',
    `--user-data-dir=${userDataDir}`,
    // The launcher opens its own tabs; no window of restored or default tabs first.
    '--no-startup-window',
  ];
  if (options.headless) args.push('--headless');
  if (options.proxy) args.push(`--proxy-server=${options.proxy}`);
  if (options.remoteDebuggingPort !== undefined) args.push(`--remote-debugging-port=${options.remoteDebuggingPort}`, '--remote-debugging-address=127.0.0.1');
  args.push(...(options.args ?? []));
  return args;
}

/** Starts Chromium and connects to it over the debugging pipe. */
export async function startChromium(options: ChromiumOptions): Promise<ChromiumProcess> {
  const temporary = options.userDataDir === undefined;
  const userDataDir = options.userDataDir ?? mkdtempSync(join(tmpdir(), 'pagecall-profile-'));
  const removeTemporary = async (): Promise<void> => {
    if (temporary) await removeProfile(userDataDir);
  };
  let child: ChildProcess;
  try {
    child = spawn(options.executablePath, chromiumArgs(options, userDataDir), { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  } catch (error) {
    await removeTemporary();
    throw new BrowserStartError(`cannot start ${options.executablePath}: ${(error as Error).message}`);
  }
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    // Kept for the error message if the browser dies at start; only the end matters.
    output = (output + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new BrowserStartError(`cannot start ${options.executablePath}: ${error.message}`))));
  spawnFailed.catch(() => {});
  const connection = new CdpConnection(pipeTransport(child.stdio[3] as Writable, child.stdio[4] as Readable));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([connection.browser.sendQuietly('Browser.close'), exited]);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      killer.unref();
      await exited;
      clearTimeout(killer);
    }
    connection.close();
    await removeTemporary();
  };

  try {
    // The first answer proves the pipe works (a wrong binary or a locked profile fails here).
    await Promise.race([
      connection.browser.send('Browser.getVersion'),
      spawnFailed,
      exited.then(() => {
        throw new BrowserStartError(`the browser exited at start (code ${child.exitCode ?? child.signalCode}):\n${output.trim().slice(-2000)}`);
      }),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  let endpoint: string | undefined;
  if (options.remoteDebuggingPort !== undefined) endpoint = await readEndpoint(userDataDir, () => output);
  return { connection, pid: child.pid!, userDataDir, endpoint, exited, close };
}

/** The DevTools port Chromium chose, from the profile's DevToolsActivePort file (or its stderr line). */
async function readEndpoint(userDataDir: string, output: () => string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const match = /DevTools listening on ws:\/\/([^/\s]+)\//.exec(output());
    if (match) return `http://${match[1]}`;
    try {
      const port = readFileSync(join(userDataDir, 'DevToolsActivePort'), 'utf8').split('\n')[0];
      if (port) return `http://127.0.0.1:${port}`;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new BrowserStartError('the browser did not open its DevTools port');
}
