/** What the close codes after which the page stops reconnecting mean, said as what to do about them. */
import { CLOSE_CODES } from '../../protocol/messages.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { NativeURL, pageUrl } from './builtins.js';
import type { LastError } from './types.js';

function pageOrigin(): string {
  try {
    return new NativeURL(pageUrl()).origin;
  } catch {
    return 'this page';
  }
}

/**
 * The failure for a final close `code` from the bridge at `url` (group `group`); `detail` is the
 * close reason and any error message the bridge sent before closing.
 */
export function finalCloseError(code: number, url: string, group: string, detail: string): LastError {
  const why = detail ? ` (${detail})` : '';
  switch (code) {
    case CLOSE_CODES.UNAUTHORIZED:
      return {
        reason: 'unauthorized',
        message: `pagecall: the bridge at ${url} refused this page: its page key is missing or wrong${why}. Get the snippet for group ${group} from \`pagecall injector --group ${group}\` or the bridge's dashboard, or pass the key: pagecall.connect({ url, group, key }). Not reconnecting.`,
      };
    case CLOSE_CODES.KICKED:
      return { reason: 'kicked', message: `pagecall: an operator disconnected this page from ${url}${why}. Call pagecall.connect() to rejoin.` };
    case CLOSE_CODES.PROTOCOL_MISMATCH:
      return {
        reason: 'protocol-mismatch',
        message: `pagecall: the bridge at ${url} speaks another protocol version than this injector (v${PROTOCOL_VERSION})${why}. Load the injector that ships with the running bridge. Not reconnecting.`,
      };
    case CLOSE_CODES.FORBIDDEN:
      return {
        reason: 'closed',
        message: `pagecall: the bridge at ${url} does not accept pages from ${pageOrigin()} in group ${group}${why}. Allow this origin in the bridge's settings, then call pagecall.connect() again.`,
      };
    default:
      return { reason: 'closed', message: `pagecall: the bridge at ${url} refused the hello (close code ${code})${why}. Fix the connect options. Not reconnecting.` };
  }
}
