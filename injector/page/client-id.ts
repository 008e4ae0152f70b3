/**
 * The client id a tab keeps per group in sessionStorage, so a reload rejoins as the same client,
 * and beside it the id's resume secret (from the welcome): without it the bridge gives a reused id
 * only when no connected page holds it. sessionStorage is per tab, but a duplicated tab copies it:
 * see forgetClientId.
 */
import { CLIENT_ID_PATTERN } from '../../protocol/guards.js';
import { storageGet, storageRemove, storageSet } from './builtins.js';

const ID_PREFIX = 'pagecall:clientId:';
const RESUME_PREFIX = 'pagecall:resume:';

/** A client id and, when the bridge gave one, its resume secret. */
export interface StoredId {
  id: string;
  resume: string | undefined;
}

/** The id this tab had in `group` and its resume secret, if an id is stored and well formed. */
export function storedClientId(group: string): StoredId | undefined {
  const id = storageGet(ID_PREFIX + group);
  if (id === undefined || !CLIENT_ID_PATTERN.test(id)) return undefined;
  return { id, resume: storageGet(RESUME_PREFIX + group) };
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
