/**
 * The README's Node API example runs as written: its two code blocks are taken out of README.md,
 * saved as a script and hooks.js in a fresh folder that imports the package by its name, and run
 * with Node. Only the world around it is arranged: `site.example` is an HTTPS test site on
 * loopback (the browser is pointed at it through PAGECALL_BROWSER_ARGS).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The code blocks of the README section `heading`, in order. */
function codeBlocks(heading: string): Array<{ lang: string; code: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

/** The page the example talks to: an app whose protobuf-like decoder is a global. */
const SITE_PAGE = `<!doctype html><title>site</title><script>
  window.app = { proto: { Message: { decode(bytes) {
    // field 1, length-delimited: [10, n, ...utf8]
    const text = new TextDecoder().decode(bytes.subarray(2, 2 + bytes[1]));
    return { toObject: () => ({ text }) };
  } } } };
</script>`;

test("the README's Node API example runs as written and prints the page's decoded object", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pagecall-readme-'));
  let server: Server | undefined;
  try {
    const [script, hooks] = codeBlocks('Node API');
    assert.equal(script?.lang, 'ts');
    assert.equal(hooks?.lang, 'js');
    writeFileSync(join(dir, 'example.mjs'), script!.code);
    writeFileSync(join(dir, 'hooks.js'), hooks!.code);
    // `import 'pagecall'` as an installed package would resolve it.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'pagecall'), 'dir');

    // https://site.example/: a throwaway certificate, a loopback server, and the browser told where the name goes.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=site.example', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(SITE_PAGE);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const env = { PAGECALL_BROWSER_ARGS: `--host-resolver-rules=MAP site.example 127.0.0.1:${port} --ignore-certificate-errors` };

    const { code, stdout, stderr } = await (async () => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        // The example reads hooks.js from the folder it runs in.
        return run(process.execPath, [join(dir, 'example.mjs')], env, [], 120_000);
      } finally {
        process.chdir(cwd);
      }
    })();
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /\{ text: 'hi' \}/);
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
