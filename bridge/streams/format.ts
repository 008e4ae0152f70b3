/**
 * What a stream subscriber receives, as JSON objects (docs/streams.md): `event` (a published value),
 * `error` (a tap's decode failed) and `gap` (events are missing here, and why). Entries of a topic's
 * history are serialized once, when they arrive; each subscriber format frames the same JSON.
 */

/** Kinds of entries in a topic's history: every one has a sequence number. */
export type EntryKind = 'event' | 'error' | 'gap';

/**
 * Why events are missing. `behind`, `expired` and `reset` are told to one subscriber; the others are
 * kept in the history. The last four come from a cluster (docs/cluster.md#streams).
 */
export type GapReason = 'page-dropped' | 'page-reconnected' | 'behind' | 'expired' | 'reset' | 'node-lost' | 'node-missed' | 'nats-lost' | 'not-followed';

/** One entry of a topic's history, serialized. */
export interface Entry {
  readonly seq: number;
  /** The page that published it; '' for a gap about the cluster, which every subscriber sees. */
  readonly clientId: string;
  readonly kind: EntryKind;
  /** The whole JSON object a subscriber receives. */
  readonly json: string;
}

/** How a subscriber reads: server-sent events, NDJSON over HTTP, or a WebSocket. */
export type StreamFormat = 'sse' | 'ndjson' | 'ws';

/** The SSE event name of each kind; values use the default (`message`), so `EventSource.onmessage` gets them. */
const SSE_NAMES: Record<EntryKind, string> = { event: '', error: 'page-error', gap: 'gap' };

/** The id of entry `seq` of a topic's history `epoch` (`k3j9x0a1-57`): what Last-Event-ID gives back. */
export function eventId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/** A resume point: a full id (`epoch-seq`) or a bare sequence number (this history's). */
export interface ResumePoint {
  epoch: string | null;
  seq: number;
}

/** Reads a Last-Event-ID (header or `lastEventId=`); undefined when it is not one. */
export function parseEventId(text: string): ResumePoint | undefined {
  const match = /^(?:([A-Za-z0-9_]{1,32})-)?(\d{1,15})$/.exec(text.trim());
  if (!match) return undefined;
  return { epoch: match[1] ?? null, seq: Number(match[2]) };
}

/**
 * Serializes what every entry of one page message shares, after `"seq":N`. `node` (the cluster
 * node holding the page) is there on a bridge in a cluster; `clientId` is left out for gaps about
 * the cluster ('').
 */
export function entryTail(group: string, topic: string, clientId: string, time: number, node?: string): string {
  const page = clientId === '' ? '' : `,"clientId":${JSON.stringify(clientId)}`;
  return `,"group":${JSON.stringify(group)},"topic":${JSON.stringify(topic)}${page}${node === undefined ? '' : `,"node":${JSON.stringify(node)}`},"time":${time}`;
}

/** The JSON of a history entry: `kind`, its id and sequence number, the shared tail and the body (`"value":…`). */
export function entryJson(kind: EntryKind, epoch: string, seq: number, tail: string, body: string): string {
  return `{"type":"${kind}","id":"${eventId(epoch, seq)}","seq":${seq}${tail},${body}}`;
}

/** A gap told to one subscriber: no id and no sequence number, so its Last-Event-ID stays where it was. */
export function localGapJson(group: string, topic: string, reason: GapReason, missed: number | null, message: string, node?: string): string {
  return JSON.stringify({ type: 'gap', group, topic, ...(node === undefined ? {} : { node }), time: Date.now(), reason, missed, message });
}

/** The body of a gap entry (`"reason":…,"missed":…,"message":…`). */
export function gapBody(reason: GapReason, missed: number | null, message: string): string {
  return `"reason":"${reason}","missed":${missed === null ? 'null' : missed},"message":${JSON.stringify(message)}`;
}

/** One entry as server-sent event text. */
export function sseFrame(entry: Entry, epoch: string): string {
  const name = SSE_NAMES[entry.kind];
  return `id: ${eventId(epoch, entry.seq)}\n${name ? `event: ${name}\n` : ''}data: ${entry.json}\n\n`;
}

/** A gap told to one subscriber, as server-sent event text (no `id:` line). */
export function sseLocalGap(json: string): string {
  return `event: gap\ndata: ${json}\n\n`;
}

/** Entries framed for `format`: SSE text, NDJSON lines, or one WebSocket message (a JSON array). */
export function frameEntries(entries: readonly Entry[], format: StreamFormat, epoch: string, from = 0, to = entries.length): string {
  let out = '';
  if (format === 'ws') {
    for (let i = from; i < to; i++) out += (i === from ? '[' : ',') + entries[i]!.json;
    return out === '' ? '' : `${out}]`;
  }
  if (format === 'sse') {
    for (let i = from; i < to; i++) out += sseFrame(entries[i]!, epoch);
    return out;
  }
  for (let i = from; i < to; i++) out += `${entries[i]!.json}\n`;
  return out;
}

/** A gap told to one subscriber, framed for `format`. */
export function frameLocalGap(json: string, format: StreamFormat): string {
  if (format === 'sse') return sseLocalGap(json);
  if (format === 'ws') return `[${json}]`;
  return `${json}\n`;
}
