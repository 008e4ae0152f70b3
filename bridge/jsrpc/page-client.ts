/**
 * A JsRpc page as the registry, the balancer and the pending table see it: an ordinary PageClient
 * whose send() speaks JsRpc. Invokes become `{action, message_id, param}` frames, pings become
 * WebSocket pings (JsRpc's page script has no app-level ping; browsers answer socket pings
 * themselves), and what JsRpc has no frame for (cancel, welcome, error) is not sent.
 */
import type { WebSocket } from 'ws';
import { EVAL_ACTION, type BridgeMessage, type ErrorCode, type InvokeMessage, type Json, type ResultMessage } from '../../protocol/index.js';
import { PageClient, type ClientInfo } from '../page-client.js';
import { EXECJS_ACTION, type JsrpcInvokeFrame, type JsrpcRegisterFrame } from './frames.js';
import { paramFor } from './values.js';

/** What a JsRpc page client needs from the listener that accepted it. */
export interface JsrpcClientLink {
  /** The bridge runs code strings (--allow-eval): only then is `$eval` sent on as `_execjs`. */
  readonly allowEval: boolean;
  /**
   * `param` texts of `/go` requests, by the argument list made from them: a JsRpc page gets the
   * caller's text byte for byte rather than the JSON of its parsed value.
   */
  readonly rawParams: WeakMap<readonly Json[], string>;
}

/** How a JsRpc page appears in listings: a pagecall page's fields, and which protocol it speaks. */
export type JsrpcClientInfo = ClientInfo & { protocol: 'jsrpc' };

/** A connected JsRpc page. */
export class JsrpcPageClient extends PageClient {
  constructor(
    id: string,
    group: string,
    socket: WebSocket,
    init: { url: string; origin: string | null; remoteAddress: string | null },
    private readonly link: JsrpcClientLink,
    /** Hands a result the bridge makes up for the page (a call it cannot run) to the pending table. */
    private readonly answer: (result: ResultMessage) => void,
    private readonly report: (messages: number, bytes: number) => void,
  ) {
    super(id, group, socket, { actions: [], url: init.url, title: 'JsRpc page', origin: init.origin, remoteAddress: init.remoteAddress, context: 'top' }, report);
  }

  /** Sends what JsRpc has a frame for; one frame per message (its pages read no arrays). */
  override send(message: BridgeMessage): void {
    if (this.closed) return;
    switch (message.type) {
      case 'invoke':
        this.invoke(message);
        return;
      case 'ping':
        // A socket-level ping: the browser answers it, so it proves the tab and the link are
        // alive (not that the page's main thread is free — call deadlines bound that).
        if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
        return;
      case 'cancel':
        // JsRpc has no cancel: the page finishes the call and its late reply is dropped.
        return;
      case 'welcome':
      case 'error':
        // JsRpc's page script reads neither; the bridge logs what it refuses instead.
        return;
      default: {
        const never: never = message;
        throw new Error(`JsRpc page client: unhandled message type ${String((never as { type?: unknown }).type)}`);
      }
    }
  }

  /** Tells the page its client id (the first frame on a JsRpc socket). */
  sendRegisterId(): void {
    const frame: JsrpcRegisterFrame = { registerId: this.id };
    this.writeFrame(frame);
  }

  override info(): JsrpcClientInfo {
    return { ...super.info(), protocol: 'jsrpc' };
  }

  private invoke(message: InvokeMessage): void {
    const { id, action, args } = message;
    if (action === EVAL_ACTION) {
      const code = args[0];
      // The HTTP routes refuse eval without --allow-eval already; a JsRpc page cannot refuse it
      // itself (it never hears the bridge's settings), so the bridge never sends it one.
      if (!this.link.allowEval) this.refuse(id, 'EVAL_DISABLED', 'this bridge does not allow running code strings (start it with --allow-eval)');
      else if (typeof code !== 'string') this.refuse(id, 'PAGE_ERROR', `${EVAL_ACTION}: expected a code string`);
      else this.writeFrame({ action: EXECJS_ACTION, message_id: id, param: code } satisfies JsrpcInvokeFrame);
      return;
    }
    if (action.startsWith('$')) {
      this.refuse(id, 'ACTION_NOT_FOUND', `JsRpc pages have no built-in ${JSON.stringify(action)}`);
      return;
    }
    const param = this.link.rawParams.get(args) ?? paramFor(args);
    this.writeFrame({ action, message_id: id, param } satisfies JsrpcInvokeFrame);
  }

  private refuse(id: string, code: ErrorCode, message: string): void {
    this.answer({ type: 'result', id, ok: false, error: { code, name: 'Error', message } });
  }

  private writeFrame(frame: JsrpcInvokeFrame | JsrpcRegisterFrame): void {
    const text = JSON.stringify(frame);
    this.stats.messagesOut++;
    this.stats.bytesOut += text.length;
    this.report(1, text.length);
    this.socket.send(text);
  }
}
