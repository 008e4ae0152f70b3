/** Wire limits both sides must agree on, so a conforming page never trips them. */

/**
 * Largest frame a socket may send before its hello is welcomed, in UTF-8 bytes. The bridge reads
 * nothing bigger from a stranger; a page whose hello would be bigger (many long function names)
 * says hello without its functions and announces them right after the welcome.
 */
export const MAX_HELLO_BYTES = 64 * 1024;
