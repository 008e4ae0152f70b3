/**
 * Test fixture: a real nats-server (Debian's package; .ci/run installs it) on 127.0.0.1, a free
 * port of its own choosing, its pid file, ports file and log in a temp dir. Stopped by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from './wait.js';

/** Where the server binary is: $NATS_SERVER, Debian's path, else the PATH. */
export function natsServerPath(): string {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('nats-server is not installed (apt-get install nats-server; .ci/run does it)');
  return found;
}

/** A running nats-server. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Kills it (SIGKILL by PID) and waits until it is gone: nodes see the connection drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill()). */
  restart(): Promise<void>;
  /** Stops it and removes its temp dir. */
  close(): Promise<void>;
}

async function launch(dir: string, port: number, args: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  for (const f of readdirSync(dir)) if (f.endsWith('.ports')) rmSync(join(dir, f));
  const child = spawn(natsServerPath(), ['-a', '127.0.0.1', '-p', String(port), '--ports_file_dir', dir, '-P', join(dir, 'nats.pid'), '-l', join(dir, 'nats.log'), ...args], { stdio: 'ignore' });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`nats-server exited (code ${String(code)}) before it listened; log: ${readLog(dir)}`);
  });
  exited.catch(() => {});
  // The ports file appears once it listens: poll for it (there is no event to wait on across processes).
  const ready = (async () => {
    for (;;) {
      const file = readdirSync(dir).find((f) => f.endsWith('.ports') && f.includes(`_${child.pid}.`));
      // The server may have created the file and not written it yet: an empty or partial file is read again.
      const text = file ? readFileSync(join(dir, file), 'utf8') : '';
      if (text.trim().endsWith('}')) {
        const ports = JSON.parse(text) as { nats?: string[] };
        const listen = ports.nats?.[0];
        if (listen) return Number(new URL(listen).port);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const bound = await withTimeout(Promise.race([ready, exited]), 'nats-server to listen', 15_000);
  return { child, port: bound };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'nats.log'), 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(child.pid!, 'SIGKILL');
  await withTimeout(exited, `nats-server (pid ${child.pid}) to exit`);
}

/** Starts nats-server; `args` are extra server flags (e.g. `--auth TOKEN`). */
export async function startNatsServer(args: readonly string[] = []): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pagecall-nats-'));
  let { child, port } = await launch(dir, -1, args);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    kill: () => killChild(child),
    async restart() {
      await killChild(child);
      ({ child, port } = await launch(dir, port, args));
    },
    async close() {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
