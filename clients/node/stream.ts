/**
 * `client.stream(group, topic)`: what pages publish to a topic, as an async iterator of entries
 * (GET /v1/stream as NDJSON, read as it arrives). A dropped connection is resumed after the last
 * entry seen (Last-Event-ID); docs/streams.md describes the entries.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PagecallError } from '../../protocol/index.js';
import { ClientFailure } from './errors.js';
import { cancelled, open, parseEnvelope, type Endpoint } from './transport.js';

/** What every entry carries. */
interface EntryBase {
  group: string;
  topic: string;
  /** When the bridge received it, epoch ms (in a cluster: the page's node for events; for gaps about the cluster, the subscriber's node). */
  time: number;
  /** In a cluster: the node holding the page (for gaps about the cluster, the node concerned). */
  node?: string;
}

/** A value a page published, decoded (Uint8Array, bigint, Date, Map, Set...). */
export interface StreamEvent extends EntryBase {
  type: 'event';
  /** Pass it as `since` to resume after this entry. */
  id: string;
  seq: number;
  clientId: string;
  value: unknown;
}

/** A failure in the stream's place: a tap's decode threw, or its value could not be sent. */
export interface StreamError extends EntryBase {
  type: 'error';
  id: string;
  seq: number;
  clientId: string;
  error: { name: string; message: string; stack?: string };
}

/** Entries are missing here, and why (docs/streams.md lists the reasons). */
export interface StreamGap extends EntryBase {
  type: 'gap';
  /** Set on gaps kept in the topic's history (a page dropped events or reconnected; a cluster node or NATS lost). */
  id?: string;
  seq?: number;
  /** The page, for gaps about one page. */
  clientId?: string;
  reason: 'page-dropped' | 'page-reconnected' | 'behind' | 'expired' | 'reset' | 'node-lost' | 'node-missed' | 'nats-lost' | 'not-followed';
  /** How many entries are missing, when known. */
  missed: number | null;
  message: string;
}

/** One entry of a stream. */
export type StreamEntry = StreamEvent | StreamError | StreamGap;

/** Options of stream(). */
export interface StreamOptions {
  /** Only what this page publishes. */
  clientId?: string;
  /** Start after this entry id instead of now (`'0'`: everything the bridge still keeps). */
  since?: string;
  /** Aborting ends the iteration with CANCELLED. */
  signal?: AbortSignal;
  /** How long to keep reconnecting after the connection drops, in ms (default 60,000; 0: do not). */
  reconnectWaitMs?: number;
}

/** The bridge sends a keep-alive every 15 s; silence for this long means the connection is dead. */
const SILENCE_MS = 45_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

/** Reads a topic's entries as they come, reconnecting after drops. */
export async function* readStream(endpoint: Endpoint, group: string, topic: string, options: StreamOptions, decode: (value: unknown) => unknown): AsyncGenerator<StreamEntry, void, undefined> {
  const { signal } = options;
  const reconnectWaitMs = options.reconnectWaitMs ?? 60_000;
  let since = options.since;
  let connected = false;
  let outageSince: number | undefined;
  let delay = FIRST_RETRY_MS;
  for (;;) {
    const query = new URLSearchParams({ group, topic });
    if (options.clientId !== undefined) query.set('clientId', options.clientId);
    const headers: Record<string, string> = { accept: 'application/x-ndjson' };
    if (since !== undefined) headers['last-event-id'] = since;
    let lost: unknown;
    try {
      const { res, finish } = await open(endpoint, { method: 'GET', path: `/v1/stream?${query}`, timeoutMs: SILENCE_MS, signal, headers });
      try {
        if (res.statusCode !== 200) {
          // A refusal (bad topic, token, access) is final: read it and throw its coded error.
          let text = '';
          res.setEncoding('utf8');
          for await (const chunk of res) text += chunk as string;
          parseEnvelope({ status: res.statusCode ?? 0, headers: res.headers, text });
          throw new ClientFailure('BAD_RESPONSE', `HTTP ${res.statusCode} without an error from the bridge`, { status: res.statusCode ?? 0, retryable: false });
        }
        connected = true;
        outageSince = undefined;
        delay = FIRST_RETRY_MS;
        res.setEncoding('utf8');
        let buffer = '';
        for await (const chunk of res) {
          buffer += chunk as string;
          let end: number;
          while ((end = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, end);
            buffer = buffer.slice(end + 1);
            if (line.trim() === '') continue;
            let entry: StreamEntry;
            try {
              entry = JSON.parse(line) as StreamEntry;
            } catch {
              throw new ClientFailure('BAD_RESPONSE', `the stream from ${endpoint.url} holds a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`, { retryable: false });
            }
            if (entry.type === 'event' && line.includes('"$')) entry.value = decode(entry.value);
            if (entry.id !== undefined) since = entry.id;
            yield entry;
          }
        }
      } finally {
        res.destroy();
        finish();
      }
    } catch (error) {
      if (signal?.aborted) throw cancelled(signal);
      // The bridge's refusals (a bad topic, a token) and answers that are not a bridge's are final.
      if (error instanceof PagecallError || (error instanceof ClientFailure && error.code !== 'BRIDGE_UNAVAILABLE')) throw error;
      if (!connected) throw error;
      lost = error;
    }
    if (signal?.aborted) throw cancelled(signal);
    // The connection dropped (or the bridge ended the stream): resume after the last entry seen.
    outageSince ??= Date.now();
    if (Date.now() - outageSince + delay > reconnectWaitMs) {
      throw new ClientFailure('BRIDGE_UNAVAILABLE', `lost the stream ${group}/${topic} from ${endpoint.url} and could not resume it within ${reconnectWaitMs} ms${lost instanceof Error ? `: ${lost.message}` : ''}`, { sent: true, reason: 'broken', cause: lost });
    }
    try {
      await sleep(delay, undefined, signal ? { signal } : undefined);
    } catch {
      throw cancelled(signal!);
    }
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}
