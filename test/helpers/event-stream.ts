/** Test fixture: reads GET /v1/events (server-sent events) from Node. */
import type { LiveEvent } from '../../bridge/dashboard/events.js';

export interface EventStreamReader {
  status: number;
  headers: Headers;
  /** Every event received so far, in order. */
  events: LiveEvent[];
  /** Resolves with the first event (already received or still to come) that matches. */
  next(match: (event: LiveEvent) => boolean, what: string, timeoutMs?: number): Promise<LiveEvent>;
  close(): void;
}

/** Opens the stream; when the bridge refuses it, `status` says how and `events` stays empty. */
export async function openEvents(bridgeUrl: string, headers: Record<string, string> = {}, query = ''): Promise<EventStreamReader> {
  const abort = new AbortController();
  const res = await fetch(`${bridgeUrl}/v1/events${query}`, { headers, signal: abort.signal });
  const events: LiveEvent[] = [];
  const waiters: Array<{ match: (e: LiveEvent) => boolean; resolve: (e: LiveEvent) => void }> = [];
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            if (!data) continue;
            const event = JSON.parse(data) as LiveEvent;
            events.push(event);
            for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.match(event)) waiters.splice(i, 1)[0]!.resolve(event);
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  } else {
    await res.text();
  }
  return {
    status: res.status,
    headers: res.headers,
    events,
    next(match, what, timeoutMs = 5_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      });
    },
    close: () => abort.abort(),
  };
}
