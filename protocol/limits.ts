/** Wire limits both sides must agree on, so a conforming page never trips them. */

/**
 * Largest frame a socket may send before its hello is welcomed, in UTF-8 bytes. The bridge reads
 * nothing bigger from a stranger; a page whose hello would be bigger (many long function names)
 * says hello without its functions and announces them right after the welcome.
 */
export const MAX_HELLO_BYTES = 64 * 1024;

/**
 * Messages at least this long (in characters of their JSON) leave the page in a frame of their own
 * instead of packed with others. A successful result sent that way, exactly as
 * `{"type":"result","id":"…","ok":true,"value":…}`, is passed through by the bridge: its value's
 * bytes go to the caller as they came, checked but never parsed and serialised again
 * (docs/protocol.md, "Results that pass through").
 */
export const ALONE_CHARS = 1024;
