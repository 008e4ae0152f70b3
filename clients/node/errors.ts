/**
 * Errors of the Node client. Failures the bridge reports are protocol's PagecallError (the catalogue
 * in protocol/errors.ts); failures that happen before a bridge answers are ClientFailure. Both have
 * `code`, `message`, `data`, `status` and `retryable`: branch on `code`.
 */
import { PagecallError, isErrorCode } from '../../protocol/index.js';

/** Codes of failures that are not the bridge's: no answer, or an answer that is not a bridge's. */
export type ClientFailureCode = 'BRIDGE_UNAVAILABLE' | 'BAD_RESPONSE';

/**
 * A failure on the client's side: the bridge could not be reached or the connection broke
 * (BRIDGE_UNAVAILABLE), or the server is not a pagecall bridge (BAD_RESPONSE). An error code from
 * a newer bridge that this version does not know is a ClientFailure with that code, too.
 */
export class ClientFailure extends Error {
  override readonly name = 'ClientFailure';
  /** BRIDGE_UNAVAILABLE, BAD_RESPONSE, or a code from a newer bridge. */
  readonly code: ClientFailureCode | (string & {});
  /** Details (`status` for BAD_RESPONSE, the bridge's `data` for unknown codes). */
  readonly data: unknown;
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;
  /** True when sending the same request again later may succeed. */
  readonly retryable: boolean;
  /** For BRIDGE_UNAVAILABLE: false when the request never left (connection refused), true when it may have reached the bridge. */
  readonly sent: boolean;
  /** For BRIDGE_UNAVAILABLE: `refused`, `connect` (other connection errors) or `broken` (after sending). */
  readonly reason: 'refused' | 'connect' | 'broken' | undefined;

  constructor(code: ClientFailure['code'], message: string, details: { data?: unknown; status?: number; retryable?: boolean; sent?: boolean; reason?: ClientFailure['reason']; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.data = details.data;
    this.status = details.status;
    this.retryable = details.retryable ?? code === 'BRIDGE_UNAVAILABLE';
    this.sent = details.sent ?? false;
    this.reason = details.reason;
  }
}

/** Any error a client call rejects with. */
export type ClientError = PagecallError | ClientFailure;

/** The error for a wire error `{code, message, data?}` (an error response, or a failed batch item). */
export function errorFromWire(error: unknown, status: number | undefined, retryAfterSeconds?: number): ClientError {
  if (error === null || typeof error !== 'object' || typeof (error as { code?: unknown }).code !== 'string') {
    return new ClientFailure('BAD_RESPONSE', `expected an error object with a code, got ${JSON.stringify(error)?.slice(0, 200)}`, { status, retryable: false });
  }
  const { code, message, data } = error as { code: string; message?: unknown; data?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (!isErrorCode(code)) return new ClientFailure(code, text, { data, status, retryable: status !== undefined && (status === 429 || status >= 500) });
  let details = data;
  if (code === 'OVERLOADED' && retryAfterSeconds !== undefined && (data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds === undefined) {
    details = { ...(data !== null && typeof data === 'object' ? data : {}), retryAfterSeconds };
  }
  return new PagecallError(code, text, details);
}
