/**
 * Reads GET /v1/events with fetch rather than EventSource, so the token travels in an
 * Authorization header (not the URL) and a 401 can be told apart from a dropped connection.
 */
import type { LiveEvent } from '../events.js';

/** How a stream attempt ended. */
export type StreamEnd = { kind: 'unauthorized' } | { kind: 'closed' } | { kind: 'failed'; message: string };

/** Streams events until the connection ends; `onOpen` runs once the bridge accepted the request. */
export async function readEvents(headers: Record<string, string>, signal: AbortSignal, onOpen: () => void, onEvent: (event: LiveEvent) => void): Promise<StreamEnd> {
  let res: Response;
  try {
    res = await fetch('/v1/events', { headers: { ...headers, accept: 'text/event-stream' }, cache: 'no-store', signal });
  } catch (error) {
    return { kind: 'failed', message: 'bridge not reachable' };
  }
  if (res.status === 401) return { kind: 'unauthorized' };
  if (!res.ok || !res.body) return { kind: 'failed', message: `HTTP ${res.status}` };
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { kind: 'closed' };
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (data) onEvent(JSON.parse(data) as LiveEvent);
      }
    }
  } catch {
    return { kind: 'closed' };
  }
}
