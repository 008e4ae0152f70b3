import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { freeze, pageDocument } from './builtins.js';
import { Client } from './client.js';
import { CspWatch } from './diagnose.js';
import { EventQueue } from './emit.js';
import { checkActionName, pathFunction, Registry } from './registry.js';
import { hook } from './hook.js';
import { LongFinder, valueOptions } from './int64.js';
import { tapWebSocket } from './tap-websocket.js';
import type { ConnectOptions, FunctionOptions, PageFunction, PagecallApi, TapMatch, TapOptions } from './types.js';
import { createWebpackHelpers } from './webpack/index.js';

/** Builds a fresh, frozen pagecall API with its own registry and connection. */
export function createApi(): PagecallApi {
  const registry = new Registry();
  const webpack = createWebpackHelpers();
  // Only modules the app already ran: looking for a Long class must not run anything.
  const longs = new LongFinder(() => webpack.findByProps('fromBits', 'fromString', 'isLong'));
  const client = new Client(registry, new CspWatch(pageDocument), longs);
  const events = new EventQueue(client.codec, () => client.welcomedConnection());
  client.onWelcomed = () => events.connected();
  const tap = freeze({ websocket: (match: TapMatch, options: TapOptions) => tapWebSocket(events, match, options) });

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
    emit(topic: string, value: unknown) {
      events.emit(topic, value);
    },
    status() {
      return { ...client.status(), events: events.stats() };
    },
    disconnect() {
      client.disconnect();
      return api;
    },
    hook,
    tap,
    webpack,
  };
  return freeze(api);
}
