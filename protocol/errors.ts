/** What every error code means to a caller: its HTTP status and whether retrying can help. */
export interface ErrorSpec {
  /** HTTP status the bridge answers with. */
  readonly status: number;
  /** True when the same request may succeed if sent again later. */
  readonly retryable: boolean;
  /** One-line meaning, rendered into docs/errors.md. */
  readonly description: string;
}

/**
 * Status and retry flag of every code. Kept apart from the descriptions so that page code, which
 * only needs to know the codes, does not bundle the prose.
 */
const CODES = {
  BAD_REQUEST: { status: 400, retryable: false },
  UNAUTHORIZED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  EVAL_DISABLED: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  ACTION_NOT_FOUND: { status: 404, retryable: false },
  CLIENT_NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  OVERLOADED: { status: 429, retryable: true },
  CANCELLED: { status: 499, retryable: false },
  INTERNAL: { status: 500, retryable: true },
  PAGE_ERROR: { status: 502, retryable: false },
  CLIENT_DISCONNECTED: { status: 502, retryable: true },
  RESULT_NOT_SERIALIZABLE: { status: 502, retryable: false },
  RESULT_TOO_LARGE: { status: 502, retryable: false },
  NO_CLIENT: { status: 503, retryable: true },
  SHUTTING_DOWN: { status: 503, retryable: true },
  TIMEOUT: { status: 504, retryable: true },
  BAD_FRAME: { status: 400, retryable: false },
  PROTOCOL_MISMATCH: { status: 400, retryable: false },
} as const satisfies Record<string, Omit<ErrorSpec, 'description'>>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof CODES;

/** One-line meaning of every code (a code without one does not compile). */
const DESCRIPTIONS: { readonly [K in ErrorCode]: string } = {
  BAD_REQUEST: 'The request is malformed: bad JSON, a wrong type, a missing or unknown field, a malformed tagged value in `args`. The message names the field (or the path of the tagged value).',
  UNAUTHORIZED: 'A token is required and was missing or wrong.',
  FORBIDDEN: 'The request came from a Host or Origin the bridge does not serve (DNS-rebinding and cross-site protection), or the page origin is not allowed to join the group.',
  EVAL_DISABLED: 'Running code strings in a page is off; start the bridge with --allow-eval to enable it.',
  NOT_FOUND: 'No such HTTP route.',
  ACTION_NOT_FOUND: 'Pages are connected in the group but none registered the action. `data.available` lists the actions that are registered.',
  CLIENT_NOT_FOUND: 'No connected page has that client id.',
  METHOD_NOT_ALLOWED: 'The route exists but not for this HTTP method; the `Allow` header lists the methods it has.',
  PAYLOAD_TOO_LARGE: "The body, batch or frame is over the configured limit (in a cluster, a call for another node over the NATS server's `max_payload`); `data.limit` gives it.",
  UNSUPPORTED_MEDIA_TYPE: 'POST bodies must be JSON (`content-type: application/json`).',
  OVERLOADED: 'Every page that has the action is at its in-flight limit and none freed up in time. Honour `Retry-After`.',
  CANCELLED: 'The call was cancelled because its caller went away (HTTP connection closed, or the Node API signal aborted). The page is told to cancel it.',
  INTERNAL: 'A bug in pagecall. The message says what failed; please report it.',
  PAGE_ERROR: "The page function threw or rejected. `data` holds the page's `name`, `message` and `stack`.",
  CLIENT_DISCONNECTED: 'The page disconnected while running the call (in a cluster: or the node running it died, was cut off or lost NATS) and no other page could take it (or the caller disabled retry).',
  RESULT_NOT_SERIALIZABLE: 'The page function returned something the codec cannot carry: a function, a DOM node, `Window`, a `Promise` inside the value, another host object, a cycle, nesting deeper than the codec allows. The message names where it sits (`result.items[3].el: a DOM node (HTMLDivElement) cannot be sent`); see [protocol.md](protocol.md#values-that-cannot-be-carried).',
  RESULT_TOO_LARGE: "The page function's result is over the frame limit (in a cluster, a result from another node over the NATS server's `max_payload`); `data.limit` gives it.",
  NO_CLIENT: 'No page is connected in the group (or with the requested client id). The message names the groups that have pages and `data.groups` lists them.',
  SHUTTING_DOWN: 'The bridge is shutting down: it takes no new calls, and calls still running when the grace period ends fail with this code.',
  TIMEOUT: 'The call did not finish before its deadline (`timeoutMs`). The page is told to cancel it.',
  BAD_FRAME: 'A page sent a WebSocket frame that is not valid protocol (sent to the page, never to HTTP callers).',
  PROTOCOL_MISMATCH: 'The page speaks another protocol version than the bridge; reload the injector from the bridge.',
};

function catalogue(): { readonly [K in ErrorCode]: (typeof CODES)[K] & { readonly description: string } } {
  const out: Partial<Record<ErrorCode, ErrorSpec>> = {};
  for (const code of Object.keys(CODES) as ErrorCode[]) out[code] = { ...CODES[code], description: DESCRIPTIONS[code] };
  return out as { readonly [K in ErrorCode]: (typeof CODES)[K] & { readonly description: string } };
}

/** The one error catalogue: status, retry flag and meaning of every code. docs/errors.md is checked against it by a test. */
export const ERRORS = /* @__PURE__ */ catalogue();

/** The error shape that travels on the wire and in HTTP responses. */
export interface WireError {
  code: ErrorCode;
  message: string;
  data?: unknown;
}

/** True when `code` is in the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(CODES, code);
}

/** An error with a catalogue code; branch on `.code`, not on `instanceof`. */
export class PagecallError extends Error {
  override readonly name = 'PagecallError';
  readonly code: ErrorCode;
  readonly data: unknown;

  constructor(code: ErrorCode, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }

  /**
   * The one way an unknown thrown value becomes a PagecallError: a PagecallError is kept as it is;
   * anything else gets `as.code` (INTERNAL unless told otherwise), its message prefixed with
   * `as.prefix` when given (`args: value contains a cycle`), and `as.data`.
   */
  static from(error: unknown, as: { code?: ErrorCode; prefix?: string; data?: unknown } = {}): PagecallError {
    if (error instanceof PagecallError) return error;
    let message: string;
    try {
      message = error instanceof Error ? error.message : String(error);
    } catch {
      message = 'a thrown value that cannot be turned into a string';
    }
    return new PagecallError(as.code ?? 'INTERNAL', as.prefix === undefined ? message : `${as.prefix}: ${message}`, as.data);
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return CODES[this.code].status;
  }

  /** Whether retrying the same request may help. */
  get retryable(): boolean {
    return CODES[this.code].retryable;
  }

  /** The wire form, `{code, message, data?}`. */
  toWire(): WireError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}
