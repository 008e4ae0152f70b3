/**
 * Whether a JsRpc page may join: the compat listener's form of page admission (bridge/admission.ts).
 * A JsRpc page cannot say hello, so what it shows comes in its socket URL: `&key=` (the page key, or
 * the key of the group it joins), or `&token=` when the bridge has a token; with --open-pages and no
 * token, any page joins.
 */
import { tokenMatches } from '../access.js';
import type { BridgeConfig } from '../config.js';
import type { PageKeys } from '../page-key.js';

/**
 * True when a JsRpc page that brought `key` and `token` (its socket URL's parameters, null when
 * absent) may join `group`. Keys and the token are compared in constant time.
 */
export function admitsPage(keys: PageKeys, config: Pick<BridgeConfig, 'openPages' | 'token'>, key: string | null, token: string | null, group: string): boolean {
  if (keys.check(key ?? undefined, group).ok) return true;
  if (config.token !== undefined && token !== null && tokenMatches(token, config.token)) return true;
  return config.openPages && config.token === undefined;
}
