/**
 * Whether the client in this realm joins the bridge. Only a tab's top document does: a child frame
 * is usually someone else's (an ad, a widget) and must neither join nor be handed the key. Workers
 * have no frames and are left to the code that starts them.
 */
const g = globalThis as typeof globalThis & { top?: unknown; window?: unknown };
// Captured at load: `top` is a getter of the window that a page cannot redefine, but read it once anyway.
const isTop = typeof g.window === 'undefined' || g.top === g.window;

/** True when this realm may connect: the top frame of a tab, or a worker. */
export function joinsFromThisRealm(): boolean {
  return isTop;
}
