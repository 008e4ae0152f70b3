/**
 * The client id a tab keeps per group in sessionStorage, so a reload rejoins as the same client.
 * sessionStorage is per tab, but a duplicated tab copies it: see forgetClientId.
 */
import { CLIENT_ID_PATTERN } from '../../protocol/guards.js';
import { storageGet, storageRemove, storageSet } from './builtins.js';

const STORAGE_PREFIX = 'pagecall:clientId:';

function storageKey(group: string): string {
  return STORAGE_PREFIX + group;
}

/** The id this tab had in `group`, if one is stored and well formed. */
export function storedClientId(group: string): string | undefined {
  const stored = storageGet(storageKey(group));
  return stored !== undefined && CLIENT_ID_PATTERN.test(stored) ? stored : undefined;
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
