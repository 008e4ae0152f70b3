// Builds everything users run: the Node side with tsc into dist/, and the page injector with
// esbuild into dist/injector/ (a paste-able IIFE and an ESM module).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

mkdirSync('dist/injector', { recursive: true });
const common = { bundle: true, target: 'es2020', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['injector/page/iife.ts'], outfile: 'dist/injector/pagecall.js', format: 'iife', minify: true });
await build({ ...common, entryPoints: ['injector/page/index.ts'], outfile: 'dist/injector/pagecall.mjs', format: 'esm' });
console.log(`built dist/ (injector ${statSync('dist/injector/pagecall.js').size} bytes minified)`);

// The dashboard the bridge serves at /: one script, one stylesheet, one page, no external requests.
mkdirSync('dist/dashboard', { recursive: true });
await build({ ...common, entryPoints: ['bridge/dashboard/ui/app.ts'], outfile: 'dist/dashboard/app.js', format: 'iife', minify: true });
await build({ ...common, entryPoints: ['bridge/dashboard/ui/app.css'], outfile: 'dist/dashboard/app.css', minify: true });
copyFileSync('bridge/dashboard/ui/index.html', 'dist/dashboard/index.html');

// Examples: generated protobuf code for the live-room site, and its webpack bundle (minified, split
// into runtime/vendor/common/main chunks the way production sites ship).
const pbjs = require('protobufjs-cli').pbjs;
mkdirSync('examples/live-room/app/gen', { recursive: true });
await new Promise((resolve, reject) =>
  pbjs.main(['-t', 'static-module', '-w', 'es6', '-o', 'examples/live-room/app/gen/room.js', 'examples/live-room/room.proto'], (error) => (error ? reject(error) : resolve())),
);
await new Promise((resolve, reject) =>
  require('protobufjs-cli').pbts.main(['-o', 'examples/live-room/app/gen/room.d.ts', 'examples/live-room/app/gen/room.js'], (error) => (error ? reject(error) : resolve())),
);
const webpack = require('webpack');
const stats = await new Promise((resolve, reject) =>
  webpack(
    {
      mode: 'production',
      context: resolvePath('examples/live-room/app'),
      entry: { main: './main.js' },
      output: { path: resolvePath('dist/examples/live-room/static'), filename: '[name].js', uniqueName: 'live_room', clean: true },
      optimization: { runtimeChunk: 'single', splitChunks: { chunks: 'all', minSize: 0, cacheGroups: { vendor: { test: /node_modules/, name: 'vendor' }, common: { test: /envelope\.js$/, name: 'common', enforce: true } } } },
      performance: { hints: false },
      devtool: false,
    },
    (error, result) => (error ? reject(error) : resolve(result)),
  ),
);
if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
console.log('built dist/examples/live-room/static (webpack)');

// The signed-API site's SDK ships minified with mangled private names, like production code.
await build({ entryPoints: ['examples/signed-api/sdk.src.js'], outfile: 'dist/examples/signed-api/sdk.js', minify: true, mangleProps: /^_/, target: 'es2020', logLevel: 'warning' });
