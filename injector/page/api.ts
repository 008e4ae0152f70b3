import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { freeze, pageDocument } from './builtins.js';
import { Client } from './client.js';
import { CspWatch } from './diagnose.js';
import { checkActionName, pathFunction, Registry } from './registry.js';
import { hook } from './hook.js';
import { LongFinder, valueOptions } from './int64.js';
import type { ConnectOptions, FunctionOptions, PageFunction, PagecallApi } from './types.js';
import { createWebpackHelpers } from './webpack/index.js';

/** Builds a fresh, frozen pagecall API with its own registry and connection. */
export function createApi(): PagecallApi {
  const registry = new Registry();
  const webpack = createWebpackHelpers();
  // Only modules the app already ran: looking for a Long class must not run anything.
  const longs = new LongFinder(() => webpack.findByProps('fromBits', 'fromString', 'isLong'));
  const client = new Client(registry, new CspWatch(pageDocument), longs);

  const api: PagecallApi = {
    version: PROTOCOL_VERSION,
    connect(options?: ConnectOptions) {
      client.connect(options);
      return api;
    },
    register(name: string, fn: PageFunction, options?: FunctionOptions) {
      checkActionName(name, 'register');
      if (typeof fn !== 'function') throw new TypeError(`pagecall.register: expected a function for ${name}, got ${fn === null ? 'null' : typeof fn}`);
      registry.set(name, fn, valueOptions(options, 'register', longs));
      client.announce();
      return api;
    },
    unregister(name: string) {
      if (registry.delete(name)) client.announce();
      return api;
    },
    expose(name: string, path: string, options?: FunctionOptions) {
      checkActionName(name, 'expose');
      if (typeof path !== 'string') throw new TypeError(`pagecall.expose: the path must be a string like "app.crypto.sign", got ${path === null ? 'null' : typeof path}`);
      registry.set(name, pathFunction(path), valueOptions(options, 'expose', longs));
      client.announce();
      return api;
    },
    status() {
      return client.status();
    },
    disconnect() {
      client.disconnect();
      return api;
    },
    hook,
    webpack,
  };
  return freeze(api);
}
