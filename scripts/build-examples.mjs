// Builds what the example sites serve (`npm run build:examples`; `npm test` and `npm run demo` run it):
// the live-room site's protobuf code (pbjs) and webpack bundle, and the signed-API site's minified
// SDK. Kept out of `npm run build` so installing pagecall never runs webpack or pbjs.
import { mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

// Generated protobuf code for the live-room site (imported by its server and its page bundle).
const { pbjs, pbts } = require('protobufjs-cli');
mkdirSync('examples/live-room/app/gen', { recursive: true });
await new Promise((resolve, reject) =>
  pbjs.main(['-t', 'static-module', '-w', 'es6', '-o', 'examples/live-room/app/gen/room.js', 'examples/live-room/room.proto'], (error) => (error ? reject(error) : resolve())),
);
await new Promise((resolve, reject) => pbts.main(['-o', 'examples/live-room/app/gen/room.d.ts', 'examples/live-room/app/gen/room.js'], (error) => (error ? reject(error) : resolve())));

// The live-room page bundle: minified, split into runtime/vendor/common/main chunks the way
// production sites ship.
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

// The signed-API site's SDK ships minified with mangled private names, like production code.
await build({ entryPoints: ['examples/signed-api/sdk.src.js'], outfile: 'dist/examples/signed-api/sdk.js', minify: true, mangleProps: /^_/, target: 'es2020', logLevel: 'warning' });
console.log('built dist/examples/ (live-room: pbjs + webpack; signed-api: esbuild)');
