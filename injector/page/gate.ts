/**
 * Script entry (dist/injector/gate.js): the realm check that runs first in every realm an init
 * script reaches, before the injector or any key is evaluated there. Built as an IIFE that defines
 * `__pagecallGate` in the scope it is pasted into (launcher/page-script.ts wraps it in a function).
 */
export { decideHere } from './realm.js';
