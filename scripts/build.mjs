// Builds everything users run (`npm run build`, also run by `prepare` on install): the Node side with
// tsc into dist/, the page injector with esbuild into dist/injector/ (a paste-able IIFE and an ESM
// module) and the dashboard. The example sites' bundles are scripts/build-examples.mjs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
// dist/examples/ belongs to build-examples.mjs: a rebuild of the product keeps it.
for (const entry of existsSync('dist') ? readdirSync('dist') : []) if (entry !== 'examples') rmSync(`dist/${entry}`, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

mkdirSync('dist/injector', { recursive: true });
const common = { bundle: true, target: 'es2020', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['injector/page/iife.ts'], outfile: 'dist/injector/pagecall.js', format: 'iife', minify: true });
await build({ ...common, entryPoints: ['injector/page/index.ts'], outfile: 'dist/injector/pagecall.mjs', format: 'esm' });
// The realm check launchers run before the injector in every frame and worker (launcher/page-script.ts).
await build({ ...common, entryPoints: ['injector/page/gate.ts'], outfile: 'dist/injector/gate.js', format: 'iife', globalName: '__pagecallGate', minify: true });
// What the bridge serves at /injector.mjs for the console snippet: installs itself, exports the instance.
await build({ ...common, entryPoints: ['injector/page/served-module.ts'], outfile: 'dist/injector/pagecall.served.mjs', format: 'esm', minify: true });
console.log(`built dist/ (injector ${statSync('dist/injector/pagecall.js').size} bytes minified)`);

// The dashboard the bridge serves at /: one script, one stylesheet, one page, no external requests.
mkdirSync('dist/dashboard', { recursive: true });
await build({ ...common, entryPoints: ['bridge/dashboard/ui/app.ts'], outfile: 'dist/dashboard/app.js', format: 'iife', minify: true });
await build({ ...common, entryPoints: ['bridge/dashboard/ui/app.css'], outfile: 'dist/dashboard/app.css', minify: true });
copyFileSync('bridge/dashboard/ui/index.html', 'dist/dashboard/index.html');
