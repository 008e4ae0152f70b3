/** The wire contract shared by the bridge and the injector: no Node or DOM types in here. */
export * from './version.js';
export * from './errors.js';
export * from './codec.js';
export * from './messages.js';
export * from './guards.js';
