import { portableBase64, type Base64 } from '../../protocol/codec.js';
import { apply, fromCharCode, nativeAtob, nativeBtoa } from './builtins.js';

// fromCharCode takes its bytes as arguments; chunks keep the argument count under engine limits.
const CHUNK = 0x8000;

function nativeBase64(toBinary64: (data: string) => string, fromBinary64: (data: string) => string): Base64 {
  return {
    encode(bytes) {
      let binary = '';
      for (let i = 0; i < bytes.length; i += CHUNK) binary += apply(fromCharCode, null, bytes.subarray(i, i + CHUNK)) as string;
      return toBinary64(binary);
    },
    decode(text) {
      let binary: string;
      try {
        binary = fromBinary64(text);
      } catch {
        // URL-safe alphabet or garbage: the portable decoder accepts the former and names the latter.
        return portableBase64.decode(text);
      }
      const out = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
      return out;
    },
  };
}

/** Base64 for the codec on the page's native btoa/atob (captured at load), else the portable one. */
export const pageBase64: Base64 = nativeBtoa && nativeAtob ? nativeBase64(nativeBtoa, nativeAtob) : portableBase64;
