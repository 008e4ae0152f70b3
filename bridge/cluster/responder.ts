/**
 * The serving side: which call subjects this node listens on (following its pages as they join,
 * change their functions and leave), and running the shipments other nodes send. Each call of a
 * shipment runs through this node's pending table like a local call (never forwarded again); its
 * outcome goes back on the shipment's reply subject, packed with the others that finish in the
 * same turn. Calls still running after ACK_MS are acknowledged, so the caller's node knows who
 * holds them; cancels stop them; when the caller's node dies or this node loses NATS, they are
 * cancelled (nobody is left to answer to).
 */
import { EVAL_ACTION, PagecallError, type Json } from '../../protocol/index.js';
import type { BridgeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PageClient } from '../page-client.js';
import type { CallRequest, CallTicket, PendingCalls, SettledCall } from '../pending-calls.js';
import type { NodeDirectory, NodeEntry } from './directory.js';
import type { Link } from './forwarder.js';
import { MAX_WEIGHT, SERVE_QUEUE, type Subjects } from './subjects.js';
import { CLUSTER_PROTOCOL, encodeResults, readCancel, readClientMessage, type ShipmentMessage, WireProblem } from './wire.js';

/** The built-in actions every page serves; a node with a page in a group listens for them there. */
const BUILTIN_ACTIONS: readonly string[] = [EVAL_ACTION];

/** How to subscribe: the NATS connection as the responder uses it. */
export interface Subscriber {
  /** Subscribes (in `queue` when given) and returns a handle to stop. */
  subscribe(subject: string, queue: string | undefined, onMessage: (message: IncomingMessage) => void): { stop(): void };
}

/** A message as the responder reads it. */
export interface IncomingMessage {
  readonly subject: string;
  /** Absent on messages nobody waits an answer for. */
  readonly reply?: string | undefined;
  readonly data: Uint8Array;
}

/** A call's state in its incoming shipment. */
const RUNNING = 0;
const SETTLED = 1;
const CANCELLED = 2;

/** A shipment another node sent here. */
class Incoming {
  readonly tickets: Array<CallTicket | null>;
  readonly states: Uint8Array;
  left: number;
  acked = false;
  /** Results not sent yet, as JSON. */
  out: string[] = [];
  outBytes = 0;

  constructor(
    readonly key: string,
    readonly from: string,
    readonly reply: string,
    readonly pinned: boolean,
    size: number,
  ) {
    this.tickets = new Array<CallTicket | null>(size).fill(null);
    this.states = new Uint8Array(size);
    this.left = size;
  }
}

/** A call subject this node listens on, with one subscription per page that serves it (up to MAX_WEIGHT). */
interface Interest {
  count: number;
  subs: Array<{ stop(): void }>;
}

/** Serves other nodes' calls with this node's pages. */
export class Responder {
  /** Call subject → pages here that serve it. */
  private readonly interest = new Map<string, Interest>();
  /** Client id → its subscription and how many registered pages hold the id (a reconnect overlaps). */
  private readonly pinned = new Map<string, { count: number; sub: { stop(): void } | null }>();
  /** The subjects each page counts towards. */
  private readonly tracked = new Map<PageClient, string[]>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly byCaller = new Map<string, Set<Incoming>>();
  /** Shipments that arrived since the last ack tick. */
  private young: Incoming[] = [];
  private readonly dirty = new Set<Incoming>();
  private flushScheduled = false;
  private subscriber: Subscriber | null = null;
  private serving = true;

  constructor(
    private readonly deps: {
      readonly instance: string;
      readonly name: string;
      readonly config: BridgeConfig;
      readonly link: Link;
      readonly subjects: Subjects;
      readonly directory: NodeDirectory;
      readonly pending: PendingCalls;
      readonly log: Logger;
      /** Kicks a page of this node; false when it is not here. */
      readonly kick: (clientId: string) => boolean;
      /** Interest changed: the heartbeat should say so soon. */
      readonly changed: () => void;
    },
  ) {}

  /** Calls from other nodes running here. */
  get running(): number {
    let n = 0;
    for (const inc of this.incoming.values()) n += inc.left;
    return n;
  }

  /**
   * Subscribes every subject the current pages need, on a new NATS connection (a reconnect of the
   * same connection keeps its subscriptions by itself).
   */
  start(subscriber: Subscriber): void {
    this.subscriber = subscriber;
    for (const [subject, interest] of this.interest) {
      interest.subs = [];
      this.weigh(subject, interest);
    }
    for (const [clientId, entry] of this.pinned) entry.sub = this.listen(this.deps.subjects.client(clientId), undefined, this.onClientMessage);
  }

  /** Stops taking calls: every call and client subscription ends (shutdown, before draining). */
  stopServing(): void {
    this.serving = false;
    for (const interest of this.interest.values()) for (const sub of interest.subs.splice(0)) sub.stop();
    for (const entry of this.pinned.values()) {
      entry.sub?.stop();
      entry.sub = null;
    }
  }

  /** A page joined: listen for its actions and its client id. */
  onJoin(client: PageClient): void {
    const subjects = this.subjectsOf(client);
    this.tracked.set(client, subjects);
    for (const subject of subjects) this.add(subject);
    let entry = this.pinned.get(client.id);
    if (!entry) {
      entry = { count: 0, sub: this.listen(this.deps.subjects.client(client.id), undefined, this.onClientMessage) };
      this.pinned.set(client.id, entry);
    }
    entry.count++;
    this.deps.changed();
  }

  /** A page changed its functions: listen for the new ones, stop for the ones gone. */
  onChange(client: PageClient): void {
    const before = this.tracked.get(client);
    if (!before) return;
    const after = this.subjectsOf(client);
    const had = new Set(before);
    const has = new Set(after);
    if (had.size === has.size && after.every((s) => had.has(s))) return;
    this.tracked.set(client, after);
    for (const subject of after) if (!had.has(subject)) this.add(subject);
    for (const subject of before) if (!has.has(subject)) this.remove(subject);
    this.deps.changed();
  }

  /** A page left. */
  onLeave(client: PageClient): void {
    const subjects = this.tracked.get(client);
    if (!subjects) return;
    this.tracked.delete(client);
    for (const subject of subjects) this.remove(subject);
    const entry = this.pinned.get(client.id);
    if (entry && --entry.count === 0) {
      entry.sub?.stop();
      this.pinned.delete(client.id);
    }
    this.deps.changed();
  }

  /** A shipment on a call subject. */
  readonly onCallMessage = (message: IncomingMessage): void => {
    this.onShipment(message, false);
  };

  /** A shipment pinned to a page of this node, or a kick. */
  readonly onClientMessage = (message: IncomingMessage): void => {
    let decoded;
    try {
      decoded = readClientMessage(message.data);
    } catch (error) {
      this.unreadable(message, error);
      return;
    }
    if ('kick' in decoded) {
      const kicked = this.deps.kick(decoded.kick);
      if (message.reply) this.deps.link.publish(message.reply, JSON.stringify({ v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.deps.name, kicked }));
      return;
    }
    if (message.reply) this.run(decoded, message.reply, true);
  };

  /** A cancel for calls running here. */
  readonly onCancel = (message: IncomingMessage): void => {
    let cancel;
    try {
      cancel = readCancel(message.data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable cancel');
      return;
    }
    const inc = this.incoming.get(`${cancel.from}.${cancel.seq}`);
    if (!inc) return;
    for (const i of cancel.i) this.stop(inc, i, cancel.reason);
  };

  /** Acknowledges shipments that arrived before the previous tick and still run (called every ACK_MS). */
  tick(): void {
    const young = this.young;
    this.young = [];
    if (!this.deps.link.ready) return;
    for (const inc of young) {
      if (inc.left === 0 || inc.acked) continue;
      inc.acked = true;
      this.deps.link.publish(inc.reply, JSON.stringify({ v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.deps.name, ack: true }));
    }
  }

  /** The caller's node is gone: nobody waits for its calls any more. */
  onNodeGone(node: NodeEntry): void {
    const shipments = this.byCaller.get(node.instance);
    if (!shipments) return;
    for (const inc of [...shipments]) for (let i = 0; i < inc.states.length; i++) this.stop(inc, i, 'CANCELLED');
  }

  /** This node lost NATS: its answers could not be delivered, so its remote calls stop. */
  onDisconnect(): void {
    for (const inc of [...this.incoming.values()]) for (let i = 0; i < inc.states.length; i++) this.stop(inc, i, 'CANCELLED');
    this.young = [];
    this.dirty.clear();
  }

  private onShipment(message: IncomingMessage, pinned: boolean): void {
    let decoded;
    try {
      decoded = readClientMessage(message.data);
      if ('kick' in decoded) throw new WireProblem('shipment: a kick on a call subject');
    } catch (error) {
      this.unreadable(message, error);
      return;
    }
    if (message.reply) this.run(decoded, message.reply, pinned);
  }

  private run(shipment: ShipmentMessage, reply: string, pinned: boolean): void {
    const { pending, directory } = this.deps;
    const seq = reply.slice(reply.lastIndexOf('.') + 1);
    const key = `${shipment.from}.${seq}`;
    if (shipment.calls.length === 0 || this.incoming.has(key)) return;
    directory.touch(shipment.from, shipment.name);
    const inc = new Incoming(key, shipment.from, reply, pinned, shipment.calls.length);
    this.incoming.set(key, inc);
    let byCaller = this.byCaller.get(shipment.from);
    if (!byCaller) this.byCaller.set(shipment.from, (byCaller = new Set()));
    byCaller.add(inc);
    this.young.push(inc);
    for (let i = 0; i < shipment.calls.length; i++) {
      const wire = shipment.calls[i]!;
      const request: CallRequest = { group: wire.g, action: wire.a, args: wire.args, timeoutMs: wire.t };
      if (wire.c !== undefined) request.clientId = wire.c;
      if (wire.r === false) request.retry = false;
      if (wire.b !== undefined) request.balance = wire.b;
      if (wire.q !== undefined) request.requestId = wire.q;
      // A node shutting down refuses it (SHUTTING_DOWN) and the caller's node sends it elsewhere.
      const ticket = pending.startHere(request, this.settled, { inc, i });
      if (inc.states[i] === RUNNING) inc.tickets[i] = ticket;
    }
  }

  /** One call's outcome: queued for the reply. Never throws (the pending table's callback contract). */
  private readonly settled = (call: SettledCall, tag: { inc: Incoming; i: number }): void => {
    const { inc, i } = tag;
    if (inc.states[i] !== RUNNING) return;
    inc.states[i] = SETTLED;
    inc.tickets[i] = null;
    inc.left--;
    let text: string;
    const error = call.error;
    if (error && !inc.pinned && call.attempts === 0 && (error.code === 'NO_CLIENT' || error.code === 'ACTION_NOT_FOUND')) {
      // No page here for it any more (it left after the call was routed here): another node may have one.
      text = `{"i":${i},"miss":true}`;
    } else {
      text = this.resultText(i, error, call.raw ?? call.value, call.attempts, call.clientId);
    }
    inc.out.push(text);
    inc.outBytes += Buffer.byteLength(text) + 1;
    this.dirty.add(inc);
    if (inc.left === 0) this.forget(inc);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Alone, an answer leaves at once; under load, with the others settled in this loop turn.
      if (this.incoming.size === 0) queueMicrotask(this.flush);
      else setImmediate(this.flush);
    }
  };

  /** `value` is the result, or its JSON bytes when it passed through from a page (written as they are). */
  private resultText(i: number, error: PagecallError | null, value: Json | Buffer | undefined, attempts: number, clientId: string | null = null): string {
    if (error) return JSON.stringify({ i, ok: false, error: error.toWire(), c: clientId, at: attempts });
    let text: string;
    try {
      text = Buffer.isBuffer(value) ? `{"i":${i},"ok":true,"c":${JSON.stringify(clientId)},"at":${attempts},"value":${value.toString('utf8')}}` : JSON.stringify({ i, ok: true, value, c: clientId, at: attempts });
    } catch (e) {
      return this.resultText(i, PagecallError.from(e, { code: 'RESULT_NOT_SERIALIZABLE', prefix: `page ${String(clientId)} returned a value this node cannot forward` }), undefined, attempts, clientId);
    }
    const bytes = Buffer.byteLength(text);
    const limit = this.deps.link.maxPayload - 512;
    if (bytes > limit) {
      return this.resultText(
        i,
        new PagecallError('RESULT_TOO_LARGE', `page ${String(clientId)} returned ${bytes} bytes, over the NATS server's max_payload (${this.deps.link.maxPayload} bytes) that carries it back to the caller's node; raise max_payload in the NATS server's configuration`, { limit: this.deps.link.maxPayload, clientId }),
        undefined,
        attempts,
        clientId,
      );
    }
    return text;
  }

  /** Sends the answers not sent yet now (before this node says goodbye). */
  flushNow(): void {
    if (this.flushScheduled) this.flush();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const { link, instance, name } = this.deps;
    const ready = link.ready;
    for (const inc of this.dirty) {
      const out = inc.out;
      inc.out = [];
      inc.outBytes = 0;
      if (!ready) continue;
      // Split so that no message passes max_payload.
      let from = 0;
      let bytes = 512;
      for (let k = 0; k < out.length; k++) {
        const size = Buffer.byteLength(out[k]!) + 1;
        if (k > from && bytes + size > link.maxPayload) {
          link.publish(inc.reply, encodeResults(instance, name, out.slice(from, k)));
          from = k;
          bytes = 512;
        }
        bytes += size;
      }
      link.publish(inc.reply, encodeResults(instance, name, from === 0 ? out : out.slice(from)));
    }
    this.dirty.clear();
  };

  private stop(inc: Incoming, i: number, reason: 'CANCELLED' | 'TIMEOUT'): void {
    if (inc.states[i] !== RUNNING) return;
    inc.states[i] = CANCELLED;
    inc.left--;
    const ticket = inc.tickets[i];
    inc.tickets[i] = null;
    if (inc.left === 0) this.forget(inc);
    if (ticket) this.deps.pending.abandon(ticket, reason);
  }

  private forget(inc: Incoming): void {
    this.incoming.delete(inc.key);
    const byCaller = this.byCaller.get(inc.from);
    if (byCaller) {
      byCaller.delete(inc);
      if (byCaller.size === 0) this.byCaller.delete(inc.from);
    }
  }

  private unreadable(message: IncomingMessage, error: unknown): void {
    const problem = (error as Error).message;
    this.deps.log.warn({ err: problem, subject: message.subject }, 'cluster: unreadable message from another node');
    if (message.reply) this.deps.link.publish(message.reply, JSON.stringify({ v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.deps.name, bad: problem }));
  }

  private subjectsOf(client: PageClient): string[] {
    const { subjects } = this.deps;
    const out: string[] = [];
    for (const action of client.actions) out.push(subjects.call(client.group, action));
    for (const action of BUILTIN_ACTIONS) out.push(subjects.call(client.group, action));
    return out;
  }

  private add(subject: string): void {
    let interest = this.interest.get(subject);
    if (!interest) this.interest.set(subject, (interest = { count: 0, subs: [] }));
    interest.count++;
    this.weigh(subject, interest);
  }

  private remove(subject: string): void {
    const interest = this.interest.get(subject);
    if (!interest) return;
    interest.count--;
    this.weigh(subject, interest);
    if (interest.count === 0) this.interest.delete(subject);
  }

  /** One subscription per page serving the subject, up to MAX_WEIGHT: NATS then picks this node in proportion. */
  private weigh(subject: string, interest: Interest): void {
    if (!this.subscriber || !this.serving) return;
    const want = Math.min(interest.count, MAX_WEIGHT);
    while (interest.subs.length < want) interest.subs.push(this.subscriber.subscribe(subject, SERVE_QUEUE, this.onCallMessage));
    while (interest.subs.length > want) interest.subs.pop()!.stop();
  }

  private listen(subject: string, queue: string | undefined, onMessage: (message: IncomingMessage) => void): { stop(): void } | null {
    if (!this.subscriber || !this.serving) return null;
    return this.subscriber.subscribe(subject, queue, onMessage);
  }
}
