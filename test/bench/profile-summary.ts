/**
 * Prints where a V8 CPU profile (from `npm run bench -- --profile`) spent its time: self time per
 * function, heaviest first. Usage: node --import tsx test/bench/profile-summary.ts FILE [TOP]
 */
import { readFileSync } from 'node:fs';
import { selfTimeLines, type CpuProfile } from './self-time.js';

const [file, topText] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
for (const line of selfTimeLines(profile, Number(topText ?? 40), (url) => url.replace(/^.*\/(node_modules|work\/main)\//, ''))) console.log(line);
