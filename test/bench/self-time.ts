/** Self time per function in a V8 CPU profile (`.cpuprofile`, or what the DevTools Profiler returns). */

/** The parts of a V8 CPU profile the summary reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  startTime: number;
  endTime: number;
}

/**
 * The `top` heaviest functions by self time, as lines `  12.3%  name file:line`, heaviest first;
 * `shortUrl` shortens a script URL for display.
 */
export function selfTimeLines(profile: CpuProfile, top: number, shortUrl: (url: string) => string): string[] {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const bySite = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const n = hits.get(node.id) ?? 0;
    total += n;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    bySite.set(key, (bySite.get(key) ?? 0) + n);
  }
  const lines = [`${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`];
  for (const [key, n] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
  return lines;
}
