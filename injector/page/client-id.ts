/**
 * The client id a tab keeps per group in sessionStorage, so a reload rejoins as the same client,
 * and beside it the id's resume secret (from the welcome): without it the bridge gives a reused id
 * only when no connected page holds it. The page makes its id up and stores it before its first
 * hello: a reload at any moment (even before the bridge has answered) comes back with the same id.
 * Only a tab's top document keeps one: frames of one origin share sessionStorage with the top
 * document, and workers have none. sessionStorage is per tab, but a duplicated tab copies it: see
 * forgetClientId.
 */
import type { ClientContext } from '../../protocol/messages.js';
import { CLIENT_ID_PATTERN } from '../../protocol/guards.js';
import { random, storageGet, storageRemove, storageSet } from './builtins.js';

const ID_PREFIX = 'pagecall:clientId:';
const RESUME_PREFIX = 'pagecall:resume:';
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 12;

// Captured at load like the other built-ins (builtins.ts): sites patch crypto too.
const cryptoObject: Crypto | undefined = typeof crypto === 'object' && crypto !== null ? crypto : undefined;
const getRandomValues = cryptoObject && typeof cryptoObject.getRandomValues === 'function' ? cryptoObject.getRandomValues.bind(cryptoObject) : undefined;

/** A client id and, when the bridge gave one, its resume secret. */
export interface StoredId {
  id: string;
  resume: string | undefined;
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

/** The id this tab had in `group` and its resume secret, if an id is stored and well formed. */
export function storedClientId(group: string): StoredId | undefined {
  const id = storageGet(ID_PREFIX + group);
  if (id === undefined || !CLIENT_ID_PATTERN.test(id)) return undefined;
  return { id, resume: storageGet(RESUME_PREFIX + group) };
}

/** The id to say hello with: the stored one (with its secret), else a new one, stored at once in a top document. */
export function proposedClientId(group: string, context: ClientContext): StoredId {
  if (context !== 'top') return { id: newClientId(), resume: undefined };
  const stored = storedClientId(group);
  if (stored !== undefined) return stored;
  const id = newClientId();
  storeClientId(group, id, undefined);
  return { id, resume: undefined };
}

/** Keeps the id the bridge assigned in `group`, with its resume secret. */
export function storeClientId(group: string, clientId: string, resume: string | undefined): void {
  storageSet(ID_PREFIX + group, clientId);
  if (resume !== undefined) storageSet(RESUME_PREFIX + group, resume);
  else storageRemove(RESUME_PREFIX + group);
}

/** Forgets `clientId` (and its resume secret) in `group` if it is still the stored one (another connection took it). */
export function forgetClientId(group: string, clientId: string | undefined): void {
  if (clientId === undefined || storageGet(ID_PREFIX + group) !== clientId) return;
  storageRemove(ID_PREFIX + group);
  storageRemove(RESUME_PREFIX + group);
}
