/** The wire contract shared by the bridge and the injector: no Node or DOM types in here. */
export * from './version.js';
export * from './limits.js';
export * from './errors.js';
export * from './codec.js';
export * from './tag-check.js';
export * from './messages.js';
export { CLOSE_CODE_TABLE, closeCodeLabel, closeCodeSpec, type CloseCodeName, type CloseCodeSpec } from './close-codes.js';
export * from './guards.js';
