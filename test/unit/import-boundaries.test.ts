/**
 * The layout's dependency rules, checked on every import in the source (static, type-only and
 * dynamic): protocol ← injector (page code); protocol ← bridge ← launcher ← cli. Page code (the
 * injector and the dashboard UI) imports no Node built-in and no package; the bridge never imports
 * the launcher or the CLI.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Areas, most specific first: a file belongs to the first whose folder holds it. */
const AREAS = ['bridge/dashboard/ui', 'protocol', 'injector', 'bridge', 'launcher', 'cli'] as const;
type Area = (typeof AREAS)[number];

/** What each area may import: other areas, and whether Node built-ins and npm packages. */
const RULES: Record<Area, { areas: readonly Area[]; node: boolean }> = {
  protocol: { areas: ['protocol'], node: false },
  injector: { areas: ['injector', 'protocol'], node: false },
  // The dashboard's page code shares the event types in bridge/dashboard/events.ts (checked as page code too, below).
  'bridge/dashboard/ui': { areas: ['bridge/dashboard/ui', 'protocol'], node: false },
  bridge: { areas: ['bridge', 'protocol'], node: true },
  launcher: { areas: ['launcher', 'bridge', 'protocol'], node: true },
  cli: { areas: ['cli', 'launcher', 'bridge', 'protocol'], node: true },
};
/** Bridge files that page code may import: types shared with the dashboard UI, themselves held to the page-code rule. */
const SHARED_WITH_PAGES = new Set(['bridge/dashboard/events.ts']);

function areaOf(file: string): Area | undefined {
  return AREAS.find((area) => file === area || file.startsWith(`${area}/`));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split('\\').join('/'));
}

interface Import {
  specifier: string;
  /** The imported file relative to the root (`.ts`), for relative specifiers. */
  file?: string;
}

function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { specifier };
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).split('\\').join('/').replace(/\.js$/, '.ts');
    return { specifier, file: target };
  });
}

const isNodeBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

/** Every rule that `imports` of `file` break, as readable lines. */
function violations(file: string, imports: readonly Import[], pageCode: boolean): string[] {
  const area = areaOf(file)!;
  const rule = RULES[area];
  const out: string[] = [];
  for (const imp of imports) {
    if (imp.file === undefined) {
      if (pageCode || !rule.node) out.push(`${file}: imports ${isNodeBuiltin(imp.specifier) ? 'the Node built-in' : 'the package'} ${imp.specifier}`);
      continue;
    }
    const target = areaOf(imp.file);
    if (pageCode && SHARED_WITH_PAGES.has(imp.file)) continue;
    if (target === undefined || !rule.areas.includes(target)) out.push(`${file}: imports ${imp.file} (${target ?? 'outside the source areas'})`);
  }
  return out;
}

describe('import boundaries', () => {
  const files = AREAS.filter((a) => !a.includes('/')).flatMap(sourceFiles);

  test('the scan sees every area and reads imports (a broken scan would pass anything)', () => {
    for (const area of AREAS) assert.ok(files.some((f) => areaOf(f) === area), `no files in ${area}`);
    assert.ok(importsOf('cli/main.ts').some((i) => i.file === 'bridge/package-root.ts'));
    assert.ok(importsOf('cli/open.ts').some((i) => i.file === 'launcher/launch.ts'), 'dynamic and type imports count');
  });

  for (const area of AREAS) {
    test(`${area}/ imports only ${RULES[area].areas.join(', ')}${RULES[area].node ? ', Node and packages' : ' (no Node built-ins, no packages)'}`, () => {
      const pageCode = area === 'injector' || area === 'bridge/dashboard/ui';
      assert.deepEqual(files.filter((f) => areaOf(f) === area).flatMap((f) => violations(f, importsOf(f), pageCode)), []);
    });
  }

  test('bridge files shared with page code import nothing but protocol/ and each other', () => {
    const out = [...SHARED_WITH_PAGES].flatMap((file) =>
      importsOf(file)
        .filter((imp) => imp.file === undefined || !(areaOf(imp.file) === 'protocol' || SHARED_WITH_PAGES.has(imp.file)))
        .map((imp) => `${file}: imports ${imp.file ?? imp.specifier}`),
    );
    assert.deepEqual(out, []);
  });

  test('a rule break is reported: the checker flags what the layout forbids and passes what it allows', () => {
    const flagged = (file: string, imp: Import, pageCode = false): boolean => violations(file, [imp], pageCode).length > 0;
    assert.equal(flagged('bridge/bridge.ts', { specifier: '../launcher/launch.js', file: 'launcher/launch.ts' }), true);
    assert.equal(flagged('bridge/bridge.ts', { specifier: '../cli/main.js', file: 'cli/main.ts' }), true);
    assert.equal(flagged('bridge/bridge.ts', { specifier: '../injector/page/client.js', file: 'injector/page/client.ts' }), true);
    assert.equal(flagged('launcher/launch.ts', { specifier: '../cli/open.js', file: 'cli/open.ts' }), true);
    assert.equal(flagged('injector/page/client.ts', { specifier: 'node:fs' }, true), true);
    assert.equal(flagged('injector/page/client.ts', { specifier: 'ws' }, true), true);
    assert.equal(flagged('injector/page/client.ts', { specifier: '../../bridge/config.js', file: 'bridge/config.ts' }, true), true);
    assert.equal(flagged('protocol/codec.ts', { specifier: 'zod' }), true);
    assert.equal(flagged('protocol/codec.ts', { specifier: '../bridge/logger.js', file: 'bridge/logger.ts' }), true);
    assert.equal(flagged('cli/open.ts', { specifier: '../launcher/launch.js', file: 'launcher/launch.ts' }), false);
    assert.equal(flagged('bridge/bridge.ts', { specifier: 'node:http' }), false);
    assert.equal(flagged('bridge/dashboard/ui/app.ts', { specifier: '../events.js', file: 'bridge/dashboard/events.ts' }, true), false);
  });
});
