/**
 * Module entry served at /injector.mjs, for the console snippet (`await import(...)`): installs
 * pagecall once per realm, also as `globalThis.pagecall` so the console can use it by name, and
 * exports that instance.
 */
import { installPagecall } from './index.js';
import type { PagecallApi } from './types.js';

const pagecall = installPagecall();
(globalThis as typeof globalThis & { pagecall?: PagecallApi }).pagecall = pagecall;

export default pagecall;
