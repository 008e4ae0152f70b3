// Builds everything users run: the Node side with tsc into dist/, and the page injector with
// esbuild into dist/injector/ (a paste-able IIFE and an ESM module).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

mkdirSync('dist/injector', { recursive: true });
const common = { bundle: true, target: 'es2020', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['injector/page/iife.ts'], outfile: 'dist/injector/pagecall.js', format: 'iife', minify: true });
await build({ ...common, entryPoints: ['injector/page/index.ts'], outfile: 'dist/injector/pagecall.mjs', format: 'esm' });
console.log(`built dist/ (injector ${statSync('dist/injector/pagecall.js').size} bytes minified)`);
