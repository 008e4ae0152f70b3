/** Script entry (dist/injector/pagecall.js): installs pagecall once per realm as `globalThis.pagecall`. */
import { installPagecall } from './index.js';
import type { PagecallApi } from './types.js';

(globalThis as typeof globalThis & { pagecall?: PagecallApi }).pagecall = installPagecall();
