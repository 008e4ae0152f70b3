/**
 * Removing a Chromium profile directory safely. The browser's main process exits first; its helper
 * processes (zygote, renderers, the network service) can still be writing into the profile for a
 * moment, and a removal racing them fails with ENOTEMPTY. So wait until no process that was started
 * with this profile is left, then remove it.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** Processes whose command line names `userDataDir` (Linux /proc; elsewhere none are known). */
export function processesUsingProfile(userDataDir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const flag = `--user-data-dir=${userDataDir}`;
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
    } catch {
      continue; // it exited while we looked
    }
    if (cmdline.split('\0').includes(flag)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Waits until no process uses the profile (SIGKILL for any still there after `timeoutMs`), then
 * removes the directory. Resolves once it is gone.
 */
export async function removeProfile(userDataDir: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let left = processesUsingProfile(userDataDir); left.length > 0; left = processesUsingProfile(userDataDir)) {
    if (Date.now() > end) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Retries stay for systems without /proc, where the wait above cannot see the helpers.
  rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
