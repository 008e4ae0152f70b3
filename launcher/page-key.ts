/**
 * The key pages need to join a running bridge, asked from the bridge itself: GET /v1/page-key
 * answers whoever may use the API (on loopback, local programs; with a token, its holders) with
 * the key that admits one group. So `pagecall open --bridge URL` needs nothing more than a caller
 * needs: the URL, and the token when the bridge has one.
 */

/** Raised when the bridge does not hand out a key; the message says what to do. */
export class PageKeyError extends Error {
  override readonly name = 'PageKeyError';
}

/** Why the bridge could not be asked at all (nothing listening, no answer in time). */
export class BridgeUnreachableError extends PageKeyError {}

/** Asks the bridge at `bridgeUrl` for the key that admits pages to `group`. */
export async function fetchGroupKey(bridgeUrl: string, group: string, token?: string, timeoutMs = 10_000): Promise<string> {
  const url = new URL('/v1/page-key', bridgeUrl);
  url.searchParams.set('group', group);
  let res: Response;
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    throw new BridgeUnreachableError(`cannot ask the bridge at ${url.origin} for the page key of group ${group}: ${why}`);
  }
  let body: { ok?: unknown; key?: unknown; error?: { code?: string; message?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // reported below
  }
  if (body.ok === true && typeof body.key === 'string') return body.key;
  if (res.status === 401) throw new PageKeyError(`the bridge at ${url.origin} needs its token to hand out page keys: pass --token-file or set PAGECALL_TOKEN`);
  if (res.status === 404) throw new PageKeyError(`the bridge at ${url.origin} does not hand out page keys (an older pagecall?): pass the key yourself (PAGECALL_PAGE_KEY, or the launch option key)`);
  throw new PageKeyError(`the bridge at ${url.origin} refused to hand out the page key of group ${group}: ${body.error?.code ?? `HTTP ${res.status}`}${body.error?.message ? `: ${body.error.message}` : ''}`);
}

/**
 * The key for pages of `group` joining the bridge at `bridgeUrl` (not in this process):
 * PAGECALL_PAGE_KEY when set (the key itself, as `pagecall serve` reads it), else the key the bridge
 * hands out for the group.
 */
export async function pageKeyFor(bridgeUrl: string, group: string, token?: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  return env.PAGECALL_PAGE_KEY || (await fetchGroupKey(bridgeUrl, group, token));
}
