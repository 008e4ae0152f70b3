/**
 * Prints where a V8 CPU profile (from `npm run bench -- --profile`) spent its time: self time per
 * function, heaviest first. Usage: node --import tsx test/bench/profile-summary.ts FILE [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topText] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const bySite = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  total += n;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  bySite.set(key, (bySite.get(key) ?? 0) + n);
}
const top = Number(topText ?? 40);
console.log(`${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
for (const [key, n] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
}
