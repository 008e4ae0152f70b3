/**
 * The page key pages send in their hello to be admitted (DESIGN-phase2: `bridge.pageKey`).
 * A bridge in this process gives its own; pages joining a bridge that runs elsewhere need it from
 * the user: `--key` / the `key` option, or PAGECALL_PAGE_KEY.
 */

/**
 * The page key to use for a bridge running elsewhere when none was given.
 * INTEGRATION POINT (issue 11): the bridge persists its page key in the user's config dir; read
 * that file here when PAGECALL_PAGE_KEY is unset, so `open`, `launch()` and `userscript` need no flag.
 */
export function defaultPageKey(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.PAGECALL_PAGE_KEY || undefined;
}
