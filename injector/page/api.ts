import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { pageDocument } from './builtins.js';
import { Client } from './client.js';
import { CspWatch } from './diagnose.js';
import { EventQueue } from './emit.js';
import { checkActionName, pathFunction, Registry } from './registry.js';
import { hook } from './hook.js';
import { tapWebSocket } from './tap-websocket.js';
import type { ConnectOptions, PageFunction, PagecallApi, TapMatch, TapOptions } from './types.js';
import { createWebpackHelpers } from './webpack/index.js';

/** Builds a fresh, frozen pagecall API with its own registry and connection. */
export function createApi(): PagecallApi {
  const registry = new Registry();
  const client = new Client(registry, new CspWatch(pageDocument));
  const webpack = createWebpackHelpers();
  const events = new EventQueue(client.codec, () => client.welcomedConnection());
  client.onWelcomed = () => events.connected();
  const tap = Object.freeze({ websocket: (match: TapMatch, options: TapOptions) => tapWebSocket(events, match, options) });

  const api: PagecallApi = {
    version: PROTOCOL_VERSION,
    connect(options?: ConnectOptions) {
      client.connect(options);
      return api;
    },
    register(name: string, fn: PageFunction) {
      checkActionName(name, 'register');
      if (typeof fn !== 'function') throw new TypeError(`pagecall.register: expected a function for ${name}, got ${fn === null ? 'null' : typeof fn}`);
      registry.set(name, fn);
      client.announce();
      return api;
    },
    unregister(name: string) {
      if (registry.delete(name)) client.announce();
      return api;
    },
    expose(name: string, path: string) {
      checkActionName(name, 'expose');
      if (typeof path !== 'string') throw new TypeError(`pagecall.expose: the path must be a string like "app.crypto.sign", got ${path === null ? 'null' : typeof path}`);
      registry.set(name, pathFunction(path));
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
  return Object.freeze(api);
}
