/**
 * Who may join, and under which client id: pure policy, decided on the hello alone. A page joins
 * when it shows the page key (or the group key of the group it joins), or the token; with
 * --open-pages and no token, any page joins. A page gets the client id it asks for when it shows
 * that id's resume secret, or when nobody holds the id now; otherwise it gets a new one, so a hello
 * can never take over a connected page.
 */
import { CLOSE_CODES, type ErrorCode, type HelloMessage } from '../protocol/index.js';
import { tokenMatches } from './access.js';
import type { BridgeConfig } from './config.js';
import type { PageKeys } from './page-key.js';

/** What let a page in. */
export type AdmittedBy = 'page-key' | 'group-key' | 'token' | 'open';

/** The outcome of a hello's admission check. */
export type Admission =
  | { ok: true; by: AdmittedBy }
  | { ok: false; closeCode: number; errorCode: ErrorCode; message: string };

/** Where the user gets what a page needs (said in every refusal, so the page's console says it). */
function howToGetIn(group: string): string {
  return (
    `get the snippet for group ${JSON.stringify(group)} with \`pagecall injector --group ${group}\` or from the bridge's dashboard (Injector → Copy snippet), ` +
    `or pass the key from \`pagecall key --group ${group}\` to pagecall.connect({url, group, key})`
  );
}

/** Decides whether the page saying `hello` joins. */
export function admit(hello: HelloMessage, keys: PageKeys, config: BridgeConfig): Admission {
  const key = keys.check(hello.key, hello.group);
  if (key.ok) return { ok: true, by: key.scope === 'page' ? 'page-key' : 'group-key' };
  if (config.token !== undefined && hello.token !== undefined && tokenMatches(hello.token, config.token)) return { ok: true, by: 'token' };
  // Today's behaviour, asked for with --open-pages: without a token, anyone joins.
  if (config.openPages && config.token === undefined) return { ok: true, by: 'open' };
  const refuse = (message: string): Admission => ({ ok: false, closeCode: CLOSE_CODES.UNAUTHORIZED, errorCode: 'UNAUTHORIZED', message });
  switch (key.reason) {
    case 'other-group':
      return refuse(`key: this is the group key of ${JSON.stringify(key.group)}, which admits that group only, not ${JSON.stringify(hello.group)}; ${howToGetIn(hello.group)}`);
    case 'wrong':
      return refuse(`key: not this bridge's page key (was it started with another key file?); ${howToGetIn(hello.group)}`);
    case 'missing':
      if (config.token !== undefined && hello.token !== undefined) return refuse(`token: wrong token, and no page key; ${howToGetIn(hello.group)}`);
      return refuse(`this bridge admits only pages that carry its page key; ${howToGetIn(hello.group)}`);
  }
}

/** The client id a page gets, and the page it takes the id from (to be closed), if any. */
export interface IdClaim<P> {
  id: string;
  replaces: P | undefined;
  /** The page asked for an id it could not have; it got a new one. */
  refused: boolean;
}

/**
 * Which client id the page saying `hello` gets: the id it asks for when it shows the id's resume
 * secret (a reload, a reconnect, a restarted bridge: the old connection, if still there, is
 * replaced), or when no connected page holds it; otherwise a new id from `newId`.
 */
export function claimId<P>(hello: HelloMessage, holderOf: (id: string) => P | undefined, keys: PageKeys, newId: () => string): IdClaim<P> {
  const asked = hello.clientId;
  if (asked === undefined) return { id: newId(), replaces: undefined, refused: false };
  const holder = holderOf(asked);
  if (keys.resumes(asked, hello.resume)) return { id: asked, replaces: holder, refused: false };
  if (holder === undefined) return { id: asked, replaces: undefined, refused: false };
  return { id: newId(), replaces: undefined, refused: true };
}
