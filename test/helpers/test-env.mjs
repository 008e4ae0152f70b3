// Loaded before every test file (`node --import`): pagecall's config directory points at a fresh
// temporary directory, so no test (nor a command it spawns, which inherits the environment) reads
// or writes the page key in the real home directory. Set once per run by the first process and
// inherited by the test files' processes, so they all share one directory; the first removes it.
// Plain JavaScript: worker threads started by tests (webpack's minimizer) load it too, before any
// TypeScript loader is in place.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

if (!process.env.PAGECALL_CONFIG_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'pagecall-test-config-'));
  process.env.PAGECALL_CONFIG_DIR = dir;
  if (isMainThread) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}
// The page key of test bridges and fake pages (test/helpers/bridge.ts), shared with child processes.
process.env.PAGECALL_TEST_PAGE_KEY ??= `test-page-key-${randomBytes(12).toString('base64url')}`;
// A key from the shell that runs the tests must not decide what the tests' bridges accept.
delete process.env.PAGECALL_PAGE_KEY;
delete process.env.PAGECALL_PAGE_KEY_FILE;
