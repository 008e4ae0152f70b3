/** pagecall's Node API. The export list is pinned by test/unit/public-api.test.ts. */
export { Bridge, startBridge, type CallOptions, type StartOptions } from './bridge.js';
export { codec } from './node-codec.js';
export { resolveConfig, ConfigError, DEFAULTS, type BridgeConfig, type BridgeOptions } from './config.js';
export { injectorScript, loaderSnippet, type InjectorSettings } from './injector-script.js';
export type { ClientInfo } from './page-client.js';
export type { JsrpcListener, JsrpcOptions } from './jsrpc/listener.js';
export type { ClusterStatus, ClusterNodeView, NatsState } from './cluster/cluster.js';
export type { CallRequest, CallSuccess } from './pending-calls.js';
export { PagecallError, ERRORS, PROTOCOL_VERSION, type ErrorCode, type WireError } from '../protocol/index.js';
