/**
 * The client id a tab keeps per group in sessionStorage, so a reload rejoins as the same client.
 * The page makes its id up and stores it before its first hello: a reload at any moment (even
 * before the bridge has answered) comes back with the same id. Only a tab's top document keeps
 * one: frames of one origin share sessionStorage with the top document, and workers have none.
 * sessionStorage is per tab, but a duplicated tab copies it: see forgetClientId.
 */
import type { ClientContext } from '../../protocol/messages.js';
import { CLIENT_ID_PATTERN } from '../../protocol/guards.js';
import { random, storageGet, storageRemove, storageSet } from './builtins.js';

const STORAGE_PREFIX = 'pagecall:clientId:';
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 12;

// Captured at load like the other built-ins (builtins.ts): sites patch crypto too.
const cryptoObject: Crypto | undefined = typeof crypto === 'object' && crypto !== null ? crypto : undefined;
const getRandomValues = cryptoObject && typeof cryptoObject.getRandomValues === 'function' ? cryptoObject.getRandomValues.bind(cryptoObject) : undefined;

function storageKey(group: string): string {
  return STORAGE_PREFIX + group;
}

/** A fresh id in the bridge's own format (12 of [0-9a-z]), from crypto when the realm has it. */
export function newClientId(): string {
  const bytes = new Uint8Array(ID_LENGTH);
  if (getRandomValues) getRandomValues(bytes);
  else for (let i = 0; i < ID_LENGTH; i++) bytes[i] = (random() * 256) | 0;
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[bytes[i]! % ID_ALPHABET.length];
  return id;
}

/** The id this tab had in `group`, if one is stored and well formed. */
export function storedClientId(group: string): string | undefined {
  const stored = storageGet(storageKey(group));
  return stored !== undefined && CLIENT_ID_PATTERN.test(stored) ? stored : undefined;
}

/** The id to say hello with: the stored one, else a new one, stored at once in a top document. */
export function proposedClientId(group: string, context: ClientContext): string {
  if (context !== 'top') return newClientId();
  const stored = storedClientId(group);
  if (stored !== undefined) return stored;
  const id = newClientId();
  storeClientId(group, id);
  return id;
}

/** Keeps the id the bridge assigned in `group`. */
export function storeClientId(group: string, clientId: string): void {
  storageSet(storageKey(group), clientId);
}

/** Forgets `clientId` in `group` if it is still the stored one (another connection took it). */
export function forgetClientId(group: string, clientId: string | undefined): void {
  const key = storageKey(group);
  if (clientId !== undefined && storageGet(key) === clientId) storageRemove(key);
}
