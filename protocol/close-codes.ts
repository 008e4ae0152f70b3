/**
 * Every WebSocket close code pages and the bridge use or meet, in one table: its number, the
 * label metrics count it under, and whether a page reconnects by itself after it.
 * docs/protocol.md lists the same codes (a test keeps them in step).
 */

/** What one close code means to both sides. */
export interface CloseCodeSpec {
  /** The number on the wire. */
  readonly code: number;
  /** `reason` label of pagecall_page_disconnections_total. */
  readonly label: string;
  /** True when a page must not reconnect by itself after it (the same hello would be refused again). */
  readonly final: boolean;
}

/** The one close-code table (standard codes first, then pagecall's 4xxx codes). */
export const CLOSE_CODE_TABLE = {
  /** The socket was closed normally (a page that disconnects on purpose). */
  NORMAL: { code: 1000, label: 'closed', final: false },
  /** The bridge is shutting down, or the page navigated away; reconnect with backoff. */
  GOING_AWAY: { code: 1001, label: 'going_away', final: false },
  /** A frame broke the WebSocket protocol (ws reports it as a socket error). */
  PROTOCOL_ERROR: { code: 1002, label: 'protocol_error', final: false },
  /** Closed without a status code. */
  NO_STATUS: { code: 1005, label: 'closed', final: false },
  /** The connection was lost without a close frame (a crashed tab, a network drop). */
  ABNORMAL: { code: 1006, label: 'lost', final: false },
  /** A frame was larger than the receiver accepts. */
  TOO_BIG: { code: 1009, label: 'frame_too_large', final: false },
  /** Sent by the page when it heard nothing from the bridge for three heartbeats; it reconnects. */
  BRIDGE_SILENT: { code: 4000, label: 'bridge_silent', final: false },
  /** The hello was invalid. Do not reconnect with the same settings. */
  BAD_HELLO: { code: 4400, label: 'bad_hello', final: true },
  /** Page key (or token) missing or wrong. Do not reconnect. */
  UNAUTHORIZED: { code: 4401, label: 'unauthorized', final: true },
  /** Too many invalid frames; reconnect with backoff. */
  TOO_MANY_BAD_FRAMES: { code: 4402, label: 'bad_frames', final: false },
  /** Origin not allowed. Do not reconnect. */
  FORBIDDEN: { code: 4403, label: 'forbidden', final: true },
  /** No hello in time; reconnect. */
  HELLO_TIMEOUT: { code: 4408, label: 'hello_timeout', final: false },
  /** Another connection took this client id; the page picks a new id and reconnects at once. */
  REPLACED: { code: 4409, label: 'replaced', final: false },
  /** Kicked by an operator. Do not reconnect until told to. */
  KICKED: { code: 4410, label: 'kicked', final: true },
  /** A frame nested deeper than the bridge reads (refused before parsing); reconnect with backoff. */
  TOO_DEEP: { code: 4413, label: 'too_deep', final: false },
  /** Protocol version mismatch. Do not reconnect. */
  PROTOCOL_MISMATCH: { code: 4426, label: 'protocol_mismatch', final: true },
  /** Too many pages from this origin or address (pages admitted without a key, under --open-pages); reconnect with backoff. */
  CROWDED: { code: 4429, label: 'crowded', final: false },
  /** Bridge at its page limit; reconnect with backoff. */
  FULL: { code: 4503, label: 'full', final: false },
  /** The page missed its pongs; it reconnects. */
  UNRESPONSIVE: { code: 4504, label: 'unresponsive', final: false },
} as const satisfies Record<string, CloseCodeSpec>;

/** A close code's name in the table (`KICKED`...). */
export type CloseCodeName = keyof typeof CLOSE_CODE_TABLE;

type CodeNumbers<T extends Record<string, CloseCodeSpec>> = { readonly [K in keyof T]: T[K]['code'] };

function numbersOf<T extends Record<string, CloseCodeSpec>>(table: T): CodeNumbers<T> {
  const out: Partial<Record<keyof T, number>> = {};
  for (const name of Object.keys(table) as Array<keyof T>) out[name] = table[name]!.code;
  return out as CodeNumbers<T>;
}

/** Name → number (`CLOSE_CODES.KICKED` is 4410), for the code that sends or switches on close codes. */
export const CLOSE_CODES = /* @__PURE__ */ numbersOf(CLOSE_CODE_TABLE);

const specs: readonly CloseCodeSpec[] = Object.values(CLOSE_CODE_TABLE);

/** Close codes after which the page should not reconnect by itself. */
export const FINAL_CLOSE_CODES: readonly number[] = specs.filter((s) => s.final).map((s) => s.code);

/** The table's entry for a close code, if it has one. */
export function closeCodeSpec(code: number): CloseCodeSpec | undefined {
  for (const spec of specs) if (spec.code === code) return spec;
  return undefined;
}

/** The metrics label for a close code: the table's, else `page_closed` for other 4xxx codes, else `other`. */
export function closeCodeLabel(code: number): string {
  return closeCodeSpec(code)?.label ?? (code >= 4000 && code < 5000 ? 'page_closed' : 'other');
}
