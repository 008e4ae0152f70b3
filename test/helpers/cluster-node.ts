/**
 * Test fixture: a cluster node as users run one, `pagecall serve --nats URL --node NAME`, in its
 * own process (the built CLI, dist/cli/main.js), on a free port. Stopped by its PID; its log
 * (stderr, JSON lines at `warn` unless PAGECALL_TEST_LOG says otherwise) is kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getJson, until } from './bridge.js';
import { withTimeout } from './wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

/** The page key child nodes accept (given to them as PAGECALL_PAGE_KEY), and what fake pages and injectors send. */
export const CHILD_PAGE_KEY = 'pagecall-cluster-test-page-key-0123456789';

/** Extra `serve` flags about the page key: none, the key travels in the environment (a command line is readable by other users). */
export function childPageKeyArgs(): string[] {
  return [];
}

/** A node running in a child process. */
export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** What the node has logged so far. */
  log(): string;
  /** Sends SIGKILL (no goodbye, no draining) and waits until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within 10 s. */
  close(): Promise<void>;
}

/** What a node of the tests is started with. */
export interface NodeOptions {
  nats: string;
  name: string;
  /** Heartbeat interval; short in tests so a dead node is noticed in about a second. */
  heartbeatMs?: number;
  /** More `serve` flags. */
  args?: string[];
}

/** The environment without the shell's PAGECALL_* settings. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PAGECALL_')) env[k] = v;
  // The tests' own config directory (test-env.mjs): a node must not touch the real home's key file.
  if (process.env.PAGECALL_CONFIG_DIR) env.PAGECALL_CONFIG_DIR = process.env.PAGECALL_CONFIG_DIR;
  env.PAGECALL_PAGE_KEY = CHILD_PAGE_KEY;
  return env;
}

/** Starts `pagecall serve` as a cluster node and resolves once it listens. */
export async function startClusterNode(options: NodeOptions): Promise<ClusterNode> {
  const args = [
    CLI,
    'serve',
    '--port',
    '0',
    '--nats',
    options.nats,
    '--node',
    options.name,
    '--cluster-heartbeat-ms',
    String(options.heartbeatMs ?? 500),
    '--shutdown-grace-ms',
    '0',
    '--log-format',
    'json',
    '--log-level',
    process.env.PAGECALL_TEST_LOG ?? 'warn',
    ...childPageKeyArgs(),
    ...(options.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  const early = exited.then(([code, signal]) => {
    throw new Error(`node ${options.name} exited (${String(code ?? signal)}) before it listened:\n${stderr.slice(-2000)}`);
  });
  early.catch(() => {});
  const listening = until(() => /ready on (http:\/\/\S+)/.exec(stdout)?.[1], `node ${options.name} to listen`, 30_000);
  let url: string;
  try {
    url = await Promise.race([listening, early]);
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid!, signal);
    await withTimeout(exited, `node ${options.name} (pid ${child.pid}) to exit after ${signal}`, 15_000);
  };
  return {
    name: options.name,
    url,
    pid: child.pid!,
    log: () => stderr,
    kill: () => stop('SIGKILL'),
    async close() {
      try {
        await stop('SIGTERM');
      } catch {
        await stop('SIGKILL');
      }
    },
  };
}

/** Waits until `node` lists pages with these ids (from any node of the cluster). */
export async function waitForPages(node: { url: string }, ids: readonly string[], what = `${ids.length} page(s) in the listing`, timeoutMs = 15_000): Promise<any[]> {
  return until(
    async () => {
      const { body } = await getJson(`${node.url}/v1/clients`);
      const clients = (body?.clients ?? []) as Array<{ id: string }>;
      return ids.every((id) => clients.some((c) => c.id === id)) ? clients : undefined;
    },
    what,
    timeoutMs,
  );
}

/** Waits until `node`'s /health says its NATS state is `state`. */
export async function waitForNats(node: { url: string; name?: string }, state: string, timeoutMs = 15_000): Promise<any> {
  return until(
    async () => {
      const { body } = await getJson(`${node.url}/health`);
      return body?.cluster?.nats === state ? body : undefined;
    },
    `${node.name ?? node.url} to report NATS ${state}`,
    timeoutMs,
  );
}
