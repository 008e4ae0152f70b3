/**
 * `pagecall/client`: call page functions through a running bridge from any Node process.
 * The export list is pinned by test/unit/client-api.test.ts.
 */
export { connect, PagecallClient, type BatchFailure, type BatchOptions, type CallOptions, type ClientInfo, type ConnectOptions, type Health, type RetryEvent, type Settled } from './client.js';
export { ClientFailure, type ClientError, type ClientFailureCode } from './errors.js';
export type { StreamEntry, StreamError, StreamEvent, StreamGap, StreamOptions } from './stream.js';
export { DEFAULT_RETRY, NO_RETRY, type RetryPolicy } from './retry.js';
export { DEFAULT_URL } from './transport.js';
export { ERRORS, PagecallError, type ErrorCode } from '../../protocol/index.js';
