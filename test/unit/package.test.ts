/**
 * What `npm pack` ships is enough to run: every module reachable from the `pagecall` command and the
 * package's exports is in `files`, every package they import is a runtime dependency, and the files
 * the bridge reads at run time (the injector bundle, the dashboard) are shipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  exports: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
};

const shipped = (path: string): boolean => pkg.files.some((entry) => path.replace(/^\.\//, '') === entry || path.replace(/^\.\//, '').startsWith(`${entry}/`));
/** `dist/cli/main.js` → `cli/main.ts`. */
const sourceOf = (dist: string): string => dist.replace(/^\.\//, '').replace(/^dist\//, '').replace(/\.js$/, '.ts');
const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/** Every source module reachable from `entries`, and every package they import. */
function reachable(entries: string[]): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (modules.has(file)) return;
    modules.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(resolve(ROOT, file), 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('.')) visit(relative(ROOT, resolve(ROOT, dirname(file), fileName)).split('\\').join('/').replace(/\.js$/, '.ts'));
      else if (!fileName.startsWith('node:') && !builtinModules.includes(fileName)) packages.add(packageName(fileName));
    }
  };
  for (const entry of entries) visit(entry);
  return { modules, packages };
}

const entries = [...Object.values(pkg.bin), ...Object.values(pkg.exports).filter((p) => p.endsWith('.js'))];
const graph = reachable(entries.map(sourceOf));

test('the bin and every export point into shipped files', () => {
  assert.deepEqual(
    [...Object.values(pkg.bin), ...Object.values(pkg.exports)].filter((p) => !shipped(p)),
    [],
  );
  assert.equal(pkg.bin.pagecall, 'dist/cli/main.js');
  assert.equal(pkg.exports['./launcher'], './dist/launcher/launch.js');
});

test('every module the command and the exports load is shipped', () => {
  assert.ok(graph.modules.has('launcher/find-browser.ts') && graph.modules.has('bridge/bridge.ts'), 'the walk follows imports');
  assert.deepEqual([...graph.modules].filter((m) => !shipped(`dist/${m.replace(/\.ts$/, '.js')}`)), []);
});

test('every package they import is a runtime dependency', () => {
  assert.ok(graph.packages.has('commander'), 'the walk sees packages');
  assert.deepEqual([...graph.packages].filter((name) => !(name in pkg.dependencies)), []);
});

test('the files the bridge reads at run time are shipped', () => {
  for (const file of ['dist/injector/pagecall.js', 'dist/dashboard/index.html', 'dist/dashboard/app.js', 'dist/dashboard/app.css']) assert.ok(shipped(file), file);
  assert.ok(!shipped('dist/examples/live-room/static/main.js'), 'the example bundles stay out of the package');
});
