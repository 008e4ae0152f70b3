/**
 * A hidden, same-origin `about:blank` frame: its realm has the browser's own built-ins, whatever
 * the page replaced in its own. Made only when the page's built-ins look replaced. Most copies taken
 * from it keep working once it is removed; the WebSocket constructor and console need it in the
 * document, so then it stays, and a new one is made if the page removes it.
 */

/** The page's own DOM functions the frame is made with (captured at load). */
export interface FrameTools {
  apply: typeof Reflect.apply;
  createElement: Document['createElement'];
  setAttribute: Element['setAttribute'];
  appendChild: Node['appendChild'];
  remove: Element['remove'];
  /** The getter of `HTMLIFrameElement.prototype.contentWindow`. */
  contentWindow: (() => unknown) | undefined;
  /** The getter of `Node.prototype.isConnected`. */
  isConnected: (() => unknown) | undefined;
  /** The getter of `Document.prototype.documentElement`. */
  documentElement: (() => unknown) | undefined;
}

/** A hidden frame whose window has clean built-ins. */
export class CleanFrame {
  private frame: Element | undefined;
  private win: object | undefined;
  private readonly doc: Document;
  private readonly tools: FrameTools;

  private constructor(doc: Document, tools: FrameTools) {
    this.doc = doc;
    this.tools = tools;
  }

  /** Makes the frame in `doc`; undefined when it cannot be made or reached (no root element, a sandbox). */
  static open(doc: Document, tools: FrameTools): CleanFrame | undefined {
    const frame = new CleanFrame(doc, tools);
    return frame.window() ? frame : undefined;
  }

  /** The frame's window; a new frame is made when the page removed the old one (undefined when none can be). */
  window(): object | undefined {
    const { apply, isConnected } = this.tools;
    if (this.frame && this.win && (!isConnected || apply(isConnected, this.frame, []) === true)) return this.win;
    this.frame = undefined;
    this.win = undefined;
    try {
      const { createElement, setAttribute, appendChild, contentWindow, documentElement } = this.tools;
      const root = documentElement ? (apply(documentElement, this.doc, []) as Node | null) : null;
      if (!root || !contentWindow) return undefined;
      const frame = apply(createElement, this.doc, ['iframe']) as Element;
      // Out of sight, out of the tab order and of the accessibility tree.
      apply(setAttribute, frame, ['style', 'display:none !important']);
      apply(setAttribute, frame, ['aria-hidden', 'true']);
      apply(setAttribute, frame, ['tabindex', '-1']);
      apply(appendChild, root, [frame]);
      const win = apply(contentWindow, frame, []) as object | null;
      // A frame of another origin (a sandboxed page) throws on the first read.
      if (!win || typeof (win as { JSON?: unknown }).JSON !== 'object') {
        apply(this.tools.remove, frame, []);
        return undefined;
      }
      this.frame = frame;
      this.win = win;
      return win;
    } catch {
      return undefined;
    }
  }

  /** Takes the frame out of the document; copies that need no live frame keep working. */
  remove(): void {
    const frame = this.frame;
    this.frame = undefined;
    this.win = undefined;
    if (!frame) return;
    try {
      this.tools.apply(this.tools.remove, frame, []);
    } catch {
      // the page removed it already
    }
  }
}
