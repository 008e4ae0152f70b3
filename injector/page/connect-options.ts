/** The options of `pagecall.connect()`, checked once with messages that name the bad field. */
import { CLIENT_ID_PATTERN, GROUP_PATTERN } from '../../protocol/guards.js';
import { bare, ownField } from './bare-object.js';
import { NativeURL, stringifyJson } from './builtins.js';
import type { ConnectOptions } from './types.js';

/**
 * Checks what a page passed to `connect` and returns a clean copy; throws a TypeError naming the bad
 * field. Only the object's own fields are read, and the copy has no prototype, so a key or token in
 * it never reaches code the site put on Object.prototype.
 */
export function checkOptions(options: unknown): ConnectOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('pagecall.connect: pass { url, group, key?, token?, clientId? }');
  const url = ownField(options, 'url');
  const group = ownField(options, 'group');
  const token = ownField(options, 'token');
  const key = ownField(options, 'key');
  const clientId = ownField(options, 'clientId');
  let protocol = '';
  try {
    protocol = typeof url === 'string' ? new NativeURL(url).protocol : '';
  } catch {
    // reported below
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new TypeError(`pagecall.connect: url must be a ws:// or wss:// URL such as ws://127.0.0.1:12180/v1/ws, got ${stringifyJson(String(url))}`);
  }
  if (typeof group !== 'string' || !GROUP_PATTERN.test(group)) {
    throw new TypeError(`pagecall.connect: group must be 1-64 letters, digits or _ . : - (got ${stringifyJson(String(group))})`);
  }
  if (token !== undefined && typeof token !== 'string') throw new TypeError('pagecall.connect: token must be a string');
  if (key !== undefined && typeof key !== 'string') throw new TypeError('pagecall.connect: key must be a string');
  if (clientId !== undefined && (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId))) {
    throw new TypeError('pagecall.connect: clientId must be 1-64 letters, digits, _ or -');
  }
  return bare<ConnectOptions>({ url: url as string, group, token: token as string | undefined, key: key as string | undefined, clientId: clientId as string | undefined });
}

/** True when `next` asks for the connection `current` already describes (an unset clientId matches any). */
export function sameSettings(current: ConnectOptions | undefined, next: ConnectOptions, clientId: string | undefined): boolean {
  return (
    current !== undefined &&
    next.url === current.url &&
    next.group === current.group &&
    next.token === current.token &&
    next.key === current.key &&
    (next.clientId === undefined || next.clientId === clientId)
  );
}
