/** Finds a Python interpreter for the Python client's tests. */
import { spawnSync } from 'node:child_process';

/** Interpreters tried in order: $PAGECALL_PYTHON, python3 on PATH, then Debian's. */
const CANDIDATES = [process.env.PAGECALL_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));

/** The first interpreter that can import every module in `modules`; throws saying what to install. */
export function findPython(modules: string[] = []): string {
  const tried: string[] = [];
  for (const candidate of CANDIDATES) {
    const probe = spawnSync(candidate, ['-c', modules.length ? `import ${modules.join(', ')}` : 'pass'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
    tried.push(`${candidate}: ${probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`)}`);
  }
  throw new Error(`no Python interpreter with ${modules.join(', ') || 'python3'} (apt-get install -y python3-pytest python3-httpx, or set PAGECALL_PYTHON):\n  ${tried.join('\n  ')}`);
}

/** Environment for running the client from the repository without installing it. */
export function pythonEnv(srcDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  env.PYTHONPATH = env.PYTHONPATH ? `${srcDir}:${env.PYTHONPATH}` : srcDir;
  delete env.PAGECALL_URL;
  delete env.PAGECALL_TOKEN;
  return env;
}
