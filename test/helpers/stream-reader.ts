/**
 * Test fixture: a subscriber of GET /v1/stream, over SSE, NDJSON or a WebSocket. It parses what
 * arrives into entries and lets a test wait for them; `pause()` stops reading (a slow subscriber:
 * the bridge's writes back up).
 */
import { request, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { withTimeout, WAIT_MS } from './wait.js';

/** One entry as a subscriber receives it, with the SSE fields it came with. */
export interface StreamEntry {
  type: 'event' | 'error' | 'gap';
  id?: string;
  seq?: number;
  group: string;
  topic: string;
  clientId?: string;
  time: number;
  value?: any;
  error?: { name: string; message: string; stack?: string };
  reason?: string;
  missed?: number | null;
  message?: string;
  /** SSE only: the `event:` name (undefined for plain messages) and the `id:` line. */
  sse?: { event?: string; id?: string };
}

/** How to subscribe. */
export interface StreamOptions {
  format?: 'sse' | 'ndjson' | 'ws';
  clientId?: string;
  lastEventId?: string;
  /** Sent as the Last-Event-ID header (SSE, NDJSON). */
  lastEventIdHeader?: string;
  headers?: Record<string, string>;
  token?: string;
  /** Other query parameters, as given. */
  query?: Record<string, string>;
}

export interface StreamReader {
  status: number;
  headers: IncomingMessage['headers'];
  /** Everything received so far, in order. */
  entries: StreamEntry[];
  /** Raw text received (SSE and NDJSON). */
  raw: string;
  /** Resolves once `count` entries matching `match` arrived. */
  waitFor(count: number, match?: (entry: StreamEntry) => boolean, timeoutMs?: number): Promise<StreamEntry[]>;
  /** Resolves when the bridge ends the stream. */
  ended: Promise<void>;
  /** Stops reading from the socket (a slow subscriber). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Subscribes to `group`/`topic` on the bridge at `bridgeUrl`; resolves once the response head (or the WebSocket) is there. */
export async function openStream(bridgeUrl: string, group: string, topic: string, options: StreamOptions = {}): Promise<StreamReader> {
  const query = new URLSearchParams({ group, topic, ...(options.query ?? {}) });
  if (options.clientId) query.set('clientId', options.clientId);
  if (options.lastEventId) query.set('lastEventId', options.lastEventId);
  if (options.token) query.set('token', options.token);
  const format = options.format ?? 'sse';
  const entries: StreamEntry[] = [];
  const waiters: Array<{ check: () => boolean }> = [];
  const notify = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.check()) waiters.splice(i, 1);
  };
  let endResolve!: () => void;
  const ended = new Promise<void>((resolve) => (endResolve = resolve));
  const waitFor = (count: number, match: (entry: StreamEntry) => boolean = () => true, timeoutMs = WAIT_MS): Promise<StreamEntry[]> => {
    const found = (): StreamEntry[] | undefined => {
      const hits = entries.filter(match);
      return hits.length >= count ? hits : undefined;
    };
    const now = found();
    if (now) return Promise.resolve(now);
    const waiter = { check: () => false };
    const done = new Promise<StreamEntry[]>((resolve) => {
      waiter.check = () => {
        const hits = found();
        if (hits) resolve(hits);
        return hits !== undefined;
      };
      waiters.push(waiter);
    });
    return withTimeout(done, `${count} matching stream entries (have ${entries.filter(match).length} of ${entries.length})`, timeoutMs).finally(() => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
    });
  };

  if (format === 'ws') {
    const url = `${bridgeUrl.replace(/^http/, 'ws')}/v1/stream?${query}`;
    const ws = new WebSocket(url, { headers: options.headers ?? {} });
    ws.on('error', () => {});
    let status = 101;
    let headers: IncomingMessage['headers'] = {};
    const opened = new Promise<void>((resolve) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        status = res.statusCode ?? 0;
        headers = res.headers;
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          reader.raw = body;
          resolve();
        });
      });
    });
    ws.on('message', (data) => {
      for (const item of JSON.parse(String(data)) as StreamEntry[]) entries.push(item);
      notify();
    });
    ws.on('close', () => endResolve());
    const reader: StreamReader = {
      get status() {
        return status;
      },
      get headers() {
        return headers;
      },
      entries,
      raw: '',
      waitFor,
      ended,
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      close: async () => {
        if (ws.readyState === WebSocket.CLOSED) return;
        const closed = new Promise((resolve) => ws.once('close', resolve));
        ws.close();
        await withTimeout(closed, 'the stream socket to close').catch(() => ws.terminate());
      },
    };
    await withTimeout(opened, 'the stream WebSocket to open');
    return reader;
  }

  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (format === 'ndjson') headers.accept ??= 'application/x-ndjson';
  if (options.lastEventIdHeader) headers['last-event-id'] = options.lastEventIdHeader;
  const req = request(`${bridgeUrl}/v1/stream?${query}`, { headers, agent: false });
  const res = await withTimeout(
    new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    }),
    'the stream response',
  );
  req.on('error', () => {});
  const reader: StreamReader = {
    status: res.statusCode ?? 0,
    headers: res.headers,
    entries,
    raw: '',
    waitFor,
    ended,
    pause: () => res.pause(),
    resume: () => res.resume(),
    close: async () => {
      res.destroy();
      req.destroy();
    },
  };
  res.setEncoding('utf8');
  let buffer = '';
  const sse = String(res.headers['content-type']).startsWith('text/event-stream');
  res.on('data', (chunk: string) => {
    reader.raw += chunk;
    buffer += chunk;
    const separator = sse ? '\n\n' : '\n';
    let end: number;
    while ((end = buffer.indexOf(separator)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + separator.length);
      if (res.statusCode !== 200) continue;
      if (!sse) {
        if (block.trim()) entries.push(JSON.parse(block) as StreamEntry);
        continue;
      }
      const fields: { event?: string; id?: string; data?: string } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const colon = line.indexOf(':');
        const name = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (name === 'data') fields.data = fields.data === undefined ? value : `${fields.data}\n${value}`;
        else if (name === 'event' || name === 'id') fields[name] = value;
      }
      if (fields.data === undefined) continue;
      const entry = JSON.parse(fields.data) as StreamEntry;
      entry.sse = {};
      if (fields.event !== undefined) entry.sse.event = fields.event;
      if (fields.id !== undefined) entry.sse.id = fields.id;
      entries.push(entry);
    }
    notify();
  });
  res.on('close', () => endResolve());
  res.on('error', () => {});
  return reader;
}
