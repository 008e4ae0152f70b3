/**
 * Whether a JsRpc page may join: the one place the compat listener decides it, so that page
 * admission (issue 11) can take it over by pointing this function at its own.
 */
import { tokenMatches } from '../access.js';
import type { BridgeConfig } from '../config.js';

/** What admission needs to know about the bridge. */
export interface AdmissionSource {
  readonly config: Pick<BridgeConfig, 'openPages'>;
  /** The key the user pastes into the page (see Bridge.pageKey). */
  readonly pageKey: string;
}

/**
 * True when a JsRpc page that brought `key` (its socket URL's `key` parameter, null when absent)
 * may join `group`: with --open-pages always, otherwise when the key is the bridge's page key
 * (compared in constant time). `group` is passed for group-scoped keys.
 */
// `_group` is unused until group-scoped keys (bridge.groupKey(group)) arrive with page admission.
export function admitsPage(bridge: AdmissionSource, key: string | null, _group: string): boolean {
  if (bridge.config.openPages) return true;
  return tokenMatches(key, bridge.pageKey);
}
