/**
 * Nesting limit for JSON that crosses the bridge without being decoded (HTTP arguments going to a
 * page, page results going to HTTP callers). JSON.parse accepts any depth, but JSON.stringify
 * recurses and overflows the stack at about 4,000 levels, so unchecked input could crash the bridge
 * (in a page's send loop) or turn a page's answer into an INTERNAL error.
 */

/**
 * Deepest wire nesting accepted. Well above the codec's 200 levels, because tagged values add wire
 * levels (a Map entry sits two arrays below its `$map`), and well below where stringify overflows.
 */
export const MAX_WIRE_DEPTH = 1_000;

/**
 * True when a parsed JSON value has an array or object more than `max` levels below the root (the
 * root container is level 0). Walks with its own stack, so hostile input cannot overflow it.
 */
export function nestedDeeperThan(value: unknown, max: number = MAX_WIRE_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const values: object[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        values.push(child as object);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
