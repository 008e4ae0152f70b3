/** The value codec on the Node side: the shared codec (protocol/codec.ts) over Buffer-backed base64. */
import { PagecallError, createCodec } from '../protocol/index.js';

/** Node-side codec: Buffer-backed base64; malformed `$bytes` text is a BAD_REQUEST. */
export const codec = createCodec({
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  decode: (text) => {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new PagecallError('BAD_REQUEST', '$bytes: invalid base64');
    return new Uint8Array(Buffer.from(text, 'base64'));
  },
});
