/**
 * What nodes send each other over NATS: JSON messages, each with the cluster protocol version `v`.
 * Nodes trust each other (the NATS network is private, see docs/cluster.md), so checks here keep a
 * node from tripping over a malformed or foreign message, they are not a security boundary.
 * Arguments and results are carried as the JSON the caller sent and the page returned.
 */
import { isErrorCode, type Json, type WireError } from '../../protocol/index.js';
import type { BalancePolicy } from '../balancer.js';

/** The version of these messages; a node ignores (and logs) messages of another version. */
export const CLUSTER_PROTOCOL = 1;

/** One call of a shipment. Short keys: this is on the hot path of every forwarded call. */
export interface WireCall {
  /** Group. */
  g: string;
  /** Action. */
  a: string;
  args: Json[];
  /** Milliseconds left until the caller's deadline when the call left. */
  t: number;
  /** Pinned client id. */
  c?: string;
  /** Retry off. */
  r?: false;
  b?: BalancePolicy;
  /** The caller's request id, for the serving node's logs. */
  q?: string;
}

/** Calls from one node, for one subject, sent together (one message per subject per tick). */
export interface ShipmentMessage {
  v: number;
  /** Instance id of the sending node. */
  from: string;
  /** Its name. */
  name: string;
  calls: WireCall[];
}

/** Drop a page (DELETE /v1/clients/:id on another node); sent on the page's client subject. */
export interface KickMessage {
  v: number;
  kick: string;
}

/** One call's outcome. `miss`: the node no longer has a page for it (it left just now); try another node. */
export type WireResult =
  | { i: number; ok: true; value: Json; c: string; at: number }
  | { i: number; ok: false; error: WireError; c: string | null; at: number }
  | { i: number; miss: true };

/** What a serving node sends to a shipment's reply subject (NATS sends "no responders" there too). */
export interface AnswerMessage {
  v: number;
  /** Instance id of the answering node. */
  n: string;
  name: string;
  /** The node has the shipment and is working on it (sent for calls still running after a moment). */
  ack?: true;
  r?: WireResult[];
  /** The node could not read the shipment at all. */
  bad?: string;
  /** Answer to a kick. */
  kicked?: boolean;
}

/** Why the caller's node gave up on forwarded calls. */
export type CancelReason = 'CANCELLED' | 'TIMEOUT';

/** Stop calls `i` of shipment `seq` of node `from`. */
export interface CancelMessage {
  v: number;
  from: string;
  seq: number;
  i: number[];
  reason: CancelReason;
}

/** A node's announcement, every --cluster-heartbeat-ms and soon after its pages change. */
export interface HeartbeatMessage {
  v: number;
  n: string;
  name: string;
  /** The node's HTTP base URL. */
  url: string;
  /** pagecall version. */
  version: string;
  /** Epoch ms the node started. */
  since: number;
  /** Its heartbeat interval in ms (it counts as gone after three missed). */
  hb: number;
  pages: number;
  /** Group → actions its pages registered (sorted), within a size budget. */
  groups: Record<string, string[]>;
  /** True when groups or actions were left out to keep the heartbeat small. */
  more?: boolean;
  /** The node is leaving the cluster. */
  bye?: boolean;
  /** The node just connected: every node answers with its heartbeat now, so it knows them at once. */
  probe?: boolean;
  /** Stream topics the node follows (has subscribers for), by group; `["*"]`: every topic of the group (when they did not fit). */
  streams?: Record<string, string[]>;
}

/**
 * A node starts following a stream topic: every node notes it (and sends the topic's entries from
 * then on) and confirms to the reply subject.
 */
export interface InterestMessage {
  v: number;
  n: string;
  name: string;
  /** Group and topic. */
  g: string;
  t: string;
}

/**
 * The head of a message of stream entries: one page's entries of one topic, sent to the nodes that
 * follow it. The entries' bodies follow the head, one a line (JSON text never holds a raw newline),
 * so nodes pass values on without parsing them.
 */
export interface EventsHead {
  v: number;
  /** The sending node's instance id and name. */
  n: string;
  name: string;
  /** Group, topic and the page's client id. */
  g: string;
  o: string;
  c: string;
  /** The sender's history of the topic, and the number of the first entry among the sender's own pages' entries of it (no holes: a jump is entries lost). */
  e: string;
  s: number;
  /** When the sender received them, epoch ms. */
  t: number;
  /** One letter per entry (e event, r error, g gap). */
  k: string;
  /** The page left the sending node (no entries). */
  left?: true;
}

/** Ask every node for its pages. */
export interface ListRequest {
  v: number;
  group?: string;
  /** `clients`: GET /v1/clients entries; `pages`: dashboard page views. */
  view: 'clients' | 'pages';
}

/** One node's pages, or part `part` (from 1) of `parts` of them when they do not fit one message. */
export interface ListAnswer {
  v: number;
  n: string;
  name: string;
  part: number;
  parts: number;
  items: unknown[];
}

const decoder = new TextDecoder();

/** A message that cannot be used, with why. */
export class WireProblem extends Error {
  override readonly name = 'WireProblem';
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';

function parse(data: Uint8Array | string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
  } catch (error) {
    throw new WireProblem(`${what}: not JSON (${(error as Error).message})`);
  }
  if (!isRecord(value)) throw new WireProblem(`${what}: expected an object`);
  if (value.v !== CLUSTER_PROTOCOL) throw new WireProblem(`${what}: cluster protocol ${JSON.stringify(value.v)}, this node speaks ${CLUSTER_PROTOCOL}; run the same pagecall version on every node`);
  return value;
}

function checkCall(x: unknown, i: number): string | undefined {
  if (!isRecord(x)) return `calls[${i}]: expected an object`;
  if (!isString(x.g) || !isString(x.a) || !Array.isArray(x.args)) return `calls[${i}]: group, action and args are required`;
  if (typeof x.t !== 'number' || !(x.t > 0)) return `calls[${i}].t: expected a positive number`;
  if (x.c !== undefined && !isString(x.c)) return `calls[${i}].c: expected a string`;
  return undefined;
}

/** Reads a shipment or a kick. */
export function readClientMessage(data: Uint8Array): ShipmentMessage | KickMessage {
  const m = parse(data, 'shipment');
  if (isString(m.kick)) return m as unknown as KickMessage;
  if (!isString(m.from) || !isString(m.name) || !Array.isArray(m.calls)) throw new WireProblem('shipment: from, name and calls are required');
  for (let i = 0; i < m.calls.length; i++) {
    const problem = checkCall(m.calls[i], i);
    if (problem) throw new WireProblem(`shipment: ${problem}`);
  }
  return m as unknown as ShipmentMessage;
}

/** Reads an answer to a shipment; results that are not well formed are dropped (their calls fail over by the ack rules). */
export function readAnswer(data: Uint8Array): AnswerMessage {
  const m = parse(data, 'answer');
  if (!isString(m.n) || !isString(m.name)) throw new WireProblem('answer: n and name are required');
  if (m.r !== undefined) {
    if (!Array.isArray(m.r)) throw new WireProblem('answer: r: expected an array');
    for (const r of m.r) {
      if (!isRecord(r) || typeof r.i !== 'number') throw new WireProblem('answer: a result without its index');
      if (r.ok === false && !(isRecord(r.error) && isErrorCode(r.error.code) && isString(r.error.message))) {
        // A code this node does not know (a newer node): still an error, as INTERNAL with its words.
        r.error = { code: 'INTERNAL', message: isRecord(r.error) && isString(r.error.message) ? r.error.message : 'another node reported an error this node cannot read', data: r.error };
      }
    }
  }
  return m as unknown as AnswerMessage;
}

/** Reads a cancel. */
export function readCancel(data: Uint8Array): CancelMessage {
  const m = parse(data, 'cancel');
  if (!isString(m.from) || typeof m.seq !== 'number' || !Array.isArray(m.i)) throw new WireProblem('cancel: from, seq and i are required');
  return m as unknown as CancelMessage;
}

/** Reads a heartbeat. */
export function readHeartbeat(data: Uint8Array): HeartbeatMessage {
  const m = parse(data, 'heartbeat');
  if (!isString(m.n) || !isString(m.name) || typeof m.hb !== 'number' || !isRecord(m.groups)) throw new WireProblem('heartbeat: n, name, hb and groups are required');
  return m as unknown as HeartbeatMessage;
}

/** Reads an interest message. */
export function readInterest(data: Uint8Array): InterestMessage {
  const m = parse(data, 'interest');
  if (!isString(m.n) || !isString(m.name) || !isString(m.g) || !isString(m.t)) throw new WireProblem('interest: n, name, g and t are required');
  return m as unknown as InterestMessage;
}

/** Reads a node's confirmation of an interest message. */
export function readInterestAck(data: Uint8Array): { n: string; name: string } {
  const m = parse(data, 'interest confirmation');
  if (!isString(m.n) || !isString(m.name)) throw new WireProblem('interest confirmation: n and name are required');
  return m as unknown as { n: string; name: string };
}

/** Reads a message of stream entries: its head and the entries' bodies. */
export function readEvents(data: Uint8Array): { head: EventsHead; bodies: string[] } {
  const text = decoder.decode(data);
  const end = text.indexOf('\n');
  const head = parse(end < 0 ? text : text.slice(0, end), 'stream entries');
  if (!isString(head.n) || !isString(head.name) || !isString(head.g) || !isString(head.o) || !isString(head.c) || !isString(head.e) || typeof head.s !== 'number' || typeof head.t !== 'number' || !isString(head.k)) {
    throw new WireProblem('stream entries: n, name, g, o, c, e, s, t and k are required');
  }
  const bodies = end < 0 ? [] : text.slice(end + 1).split('\n');
  if (bodies.length !== head.k.length) throw new WireProblem(`stream entries: ${head.k.length} kinds for ${bodies.length} entries`);
  return { head: head as unknown as EventsHead, bodies };
}

/**
 * Messages carrying `bodies` with `head` (whose `s` and `k` are set per message), each at most
 * `maxBytes`. An entry too large for any message is left out (receivers see the jump in numbers as
 * a gap); `skipped` counts them.
 */
export function encodeEvents(head: Omit<EventsHead, 's' | 'k'>, first: number, kinds: string, bodies: readonly string[], maxBytes: number): { messages: string[]; skipped: number } {
  const fixed = JSON.stringify({ ...head, s: first, k: kinds });
  let chars = fixed.length;
  for (const body of bodies) chars += body.length + 1;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most messages are sized without measuring.
  if (chars * 3 <= maxBytes) return { messages: [bodies.length === 0 ? fixed : `${fixed}\n${bodies.join('\n')}`], skipped: 0 };
  const messages: string[] = [];
  let skipped = 0;
  let start = 0;
  let part: string[] = [];
  let bytes = 0;
  const budget = maxBytes - Buffer.byteLength(fixed) - 64;
  const flush = (end: number): void => {
    if (part.length > 0) messages.push(`${JSON.stringify({ ...head, s: first + start, k: kinds.slice(start, end) })}\n${part.join('\n')}`);
    part = [];
    bytes = 0;
  };
  for (let i = 0; i < bodies.length; i++) {
    const size = Buffer.byteLength(bodies[i]!) + 1;
    if (size > budget) {
      flush(i);
      skipped++;
      start = i + 1;
      continue;
    }
    if (bytes + size > budget) {
      flush(i);
      start = i;
    }
    part.push(bodies[i]!);
    bytes += size;
  }
  flush(bodies.length);
  return { messages, skipped };
}

/** Reads a listing request. */
export function readListRequest(data: Uint8Array): ListRequest {
  const m = parse(data, 'list request');
  if (m.view !== 'clients' && m.view !== 'pages') throw new WireProblem('list request: view must be clients or pages');
  if (m.group !== undefined && !isString(m.group)) throw new WireProblem('list request: group: expected a string');
  return m as unknown as ListRequest;
}

/** Reads a listing answer. */
export function readListAnswer(data: Uint8Array): ListAnswer {
  const m = parse(data, 'list answer');
  if (!isString(m.n) || !isString(m.name) || !Array.isArray(m.items) || typeof m.part !== 'number' || typeof m.parts !== 'number') throw new WireProblem('list answer: n, name, part, parts and items are required');
  return m as unknown as ListAnswer;
}

/** One call as its shipment carries it; `remainingMs` is the time left until its deadline. */
export function encodeCall(call: { group: string; action: string; args: Json[]; retry: boolean; request: { clientId?: string; balance?: BalancePolicy; requestId?: string } }, remainingMs: number): string {
  const wire: WireCall = { g: call.group, a: call.action, args: call.args, t: Math.max(1, Math.round(remainingMs)) };
  const { clientId, balance, requestId } = call.request;
  if (clientId !== undefined) wire.c = clientId;
  if (!call.retry) wire.r = false;
  if (balance !== undefined) wire.b = balance;
  if (requestId !== undefined) wire.q = requestId;
  return JSON.stringify(wire);
}

/** A shipment from its calls, each already encoded by encodeCall(). */
export function encodeShipment(from: string, name: string, calls: readonly string[]): string {
  return `{"v":${CLUSTER_PROTOCOL},"from":${JSON.stringify(from)},"name":${JSON.stringify(name)},"calls":[${calls.join(',')}]}`;
}

/** An answer carrying results, each already JSON. */
export function encodeResults(node: string, name: string, results: readonly string[]): string {
  return `{"v":${CLUSTER_PROTOCOL},"n":${JSON.stringify(node)},"name":${JSON.stringify(name)},"r":[${results.join(',')}]}`;
}
