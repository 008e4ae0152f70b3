/** Test fixture: run a command to completion and collect its output. */
import { spawn } from 'node:child_process';

/** What a finished command printed and how it exited. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How long a command may run before run() kills it and fails. */
export const RUN_TIMEOUT_MS = 60_000;

/**
 * Runs `command args…` with extra environment variables (and without `unset` ones) and resolves when
 * it exits; a command still running after `timeoutMs` is killed (by its PID) and run() rejects.
 */
export function run(command: string, args: string[], env: Record<string, string> = {}, unset: string[] = [], timeoutMs = RUN_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const name of unset) delete base[name];
    const child = spawn(command, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${command} ${args.join(' ')} to exit (killed pid ${child.pid}); stderr so far: ${stderr.slice(-500)}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
