/** Wire protocol version. A page and a bridge that disagree on it refuse each other at hello. */
export const PROTOCOL_VERSION = 1;

/** Path of the page WebSocket endpoint on the bridge. */
export const WS_PATH = '/v1/ws';
