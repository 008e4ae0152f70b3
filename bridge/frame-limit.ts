/**
 * The largest frame a page socket accepts, per socket. A stranger's socket may send one small frame
 * (its hello) until it is admitted; ws enforces its `maxPayload` on each frame header as it arrives,
 * before buffering the payload, which is exactly the check wanted, but it takes the value once per
 * server. ws has no public way to change it for one socket, so after the welcome the receiver's
 * limit is raised directly; test/integration/pre-auth.test.ts pins that it takes effect (and that
 * the small limit holds before), so a ws upgrade that moves the field fails the suite, not users.
 */
import type { WebSocket } from 'ws';

interface ReceiverLimit {
  _maxPayload?: unknown;
}

/**
 * Lets `ws` receive frames up to `bytes` from now on. Returns the limit in force afterwards: `bytes`,
 * or the socket's current limit when this ws version keeps it elsewhere (the page is then told the
 * smaller limit in its welcome and reports larger results as RESULT_TOO_LARGE).
 */
export function raiseFrameLimit(ws: WebSocket, bytes: number, current: number): number {
  const receiver = (ws as unknown as { _receiver?: ReceiverLimit })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return current;
  receiver._maxPayload = bytes;
  return bytes;
}
