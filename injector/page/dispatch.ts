/** Reading a frame from the bridge: parse, validate each message, hand it to its handler. */
import { checkBridgeMessage } from '../../protocol/guards.js';
import type { BridgeMessage, CancelMessage, ErrorMessage, InvokeMessage, PingMessage, WelcomeMessage } from '../../protocol/messages.js';
import { isArray, logDebug, parseJson, stringifyJson } from './builtins.js';
import type { Connection } from './connection.js';

/** What the page does with each message the bridge sends. */
export interface BridgeMessageHandlers {
  /** Run a call. */
  invoke(conn: Connection, message: InvokeMessage): void;
  /** Stop a call nobody waits for any more. */
  cancel(conn: Connection, message: CancelMessage): void;
  /** Answer a liveness probe. */
  ping(conn: Connection, message: PingMessage): void;
  /** The hello was accepted. */
  welcome(conn: Connection, message: WelcomeMessage): void;
  /** The bridge refused something this page sent. */
  error(conn: Connection, message: ErrorMessage): void;
}

function handle(conn: Connection, message: BridgeMessage, handlers: BridgeMessageHandlers): void {
  switch (message.type) {
    case 'invoke':
      handlers.invoke(conn, message);
      return;
    case 'cancel':
      handlers.cancel(conn, message);
      return;
    case 'ping':
      handlers.ping(conn, message);
      return;
    case 'welcome':
      handlers.welcome(conn, message);
      return;
    case 'error':
      handlers.error(conn, message);
      return;
    default: {
      const unexpected: never = message;
      logDebug(`pagecall: ignoring message ${stringifyJson(unexpected)}`);
    }
  }
}

/**
 * Reads one frame (a message or an array of them) from `conn`. Invalid frames and messages are
 * ignored with a debug line; a handler that makes the client let go of `conn` ends the frame.
 */
export function dispatchFrame(conn: Connection, data: unknown, handlers: BridgeMessageHandlers): void {
  if (typeof data !== 'string') {
    logDebug('pagecall: ignoring a binary frame from the bridge');
    return;
  }
  let parsed: unknown;
  try {
    parsed = parseJson(data);
  } catch {
    logDebug('pagecall: ignoring a frame from the bridge that is not JSON');
    return;
  }
  const messages: unknown[] = isArray(parsed) ? parsed : [parsed];
  const outbox = conn.outbox;
  outbox.beginRead();
  try {
    for (let i = 0; i < messages.length; i++) {
      if (!conn.current) return;
      const checked = checkBridgeMessage(messages[i]);
      if (!checked.ok) {
        logDebug(`pagecall: ignoring an invalid message from the bridge: ${checked.error}`);
        continue;
      }
      handle(conn, checked.value, handlers);
    }
  } finally {
    outbox.endRead();
  }
}
