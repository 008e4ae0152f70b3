/** `--frames top|all|<pattern>` and the launch()/attach() `frames` option, turned into the rule realms check (injector/page/realm.ts). */

/** Which realms join besides top documents; the same shape as injector/page/realm.ts reads (it is sent as JSON). */
export type FrameRule = { frames: 'top' } | { frames: 'all' } | { frames: 'match'; source: string; flags: string };

/** Which frames join besides each tab's top document: `top` (none), `all`, a URL glob (`*` is any run of characters), `/regex/flags`, or a RegExp. */
export type FramesOption = 'top' | 'all' | string | RegExp;

/** Raised for a frame rule that cannot be used; the message names the value. */
export class FrameRuleError extends Error {
  override readonly name = 'FrameRuleError';
}

/** A glob as an anchored regular expression source: `*` matches any run of characters, everything else itself. */
export function globSource(glob: string): string {
  return `^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`;
}

/** The rule for a `frames` value (default `top`). */
export function frameRule(value: FramesOption | undefined): FrameRule {
  if (value === undefined || value === 'top') return { frames: 'top' };
  if (value === 'all') return { frames: 'all' };
  if (value instanceof RegExp) return { frames: 'match', source: value.source, flags: value.flags.replace(/[gy]/g, '') };
  if (typeof value !== 'string' || value.trim() === '') throw new FrameRuleError(`frames: expected top, all, a URL glob or /regex/, got ${JSON.stringify(value)}`);
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(value);
  if (regex) {
    const [, source, flags] = regex as unknown as [string, string, string];
    try {
      new RegExp(source, flags);
    } catch (error) {
      throw new FrameRuleError(`frames: ${value} is not a valid regular expression (${(error as Error).message})`);
    }
    // A stateful flag would make the same URL match one time and not the next.
    return { frames: 'match', source, flags: flags.replace(/[gy]/g, '') };
  }
  return { frames: 'match', source: globSource(value), flags: '' };
}

/** The rule said back readably (for logs and the `open` banner). */
export function describeFrameRule(rule: FrameRule): string {
  if (rule.frames === 'match') return `top documents and frames matching /${rule.source}/${rule.flags}`;
  return rule.frames === 'all' ? 'every frame (top and child frames)' : 'top documents only';
}
