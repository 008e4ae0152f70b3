/**
 * The caller's side of a forwarded call. Calls that no page here can take are packed per subject
 * into shipments (everything forwarded in one turn of the event loop leaves in one message: a
 * batch of 1,000 calls for one action is one message) and published with a reply subject that
 * names the shipment. On that subject come:
 *   - NATS's "no responders" when no node serves the subject: the calls wait here for a page, or
 *     fail with what the cluster as a whole answers (NO_CLIENT, ACTION_NOT_FOUND);
 *   - an ack from the node that took the shipment, for calls still running after a moment;
 *   - results, as they finish.
 * A shipment neither answered nor acknowledged within LOSS_BEATS heartbeats, or held by a node
 * that stops heartbeating, is lost: its calls are retried once elsewhere or fail with
 * CLIENT_DISCONNECTED, seconds after the fact, not at their deadline.
 */
import { performance } from 'node:perf_hooks';
import { PagecallError, type ErrorCode } from '../../protocol/index.js';
import { actionNotFoundError, noClientError, type ClientRegistry } from '../client-registry.js';
import type { Logger } from '../logger.js';
import type { CallForwarder, ForwardedCall, PendingCalls } from '../pending-calls.js';
import { MISSED_BEATS, type GoneReason, type NodeDirectory, type NodeEntry } from './directory.js';
import type { Subjects } from './subjects.js';
import { CLUSTER_PROTOCOL, encodeCall, encodeShipment, readAnswer, type CancelReason, type WireResult } from './wire.js';

/** What the forwarder and the responder need of the NATS connection. */
export interface Link {
  /** Connected to NATS now. */
  readonly ready: boolean;
  /** The server's max_payload, in bytes. */
  readonly maxPayload: number;
  publish(subject: string, payload: string, reply?: string): void;
}

/** A message on this node's reply subject. */
export interface ReplyMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The NATS status code of a status message (503: no responders). */
  readonly status: number | undefined;
}

/** Times a call goes back out after a node answered that its page just left. */
const MAX_MISSES = 3;
/** Room for a shipment's envelope around its calls, in bytes. */
const ENVELOPE_BYTES = 512;
/**
 * Most calls in one shipment. NATS picks a node per message, so a large batch leaves as several
 * shipments that spread over the nodes serving the action instead of landing on one.
 */
export const MAX_SHIPMENT_CALLS = 64;

/** A forwarded call's place in its shipment (the call's `link` while it is forwarded). */
interface Slot {
  readonly call: ForwardedCall;
  /** Pages here have the action but were all busy. */
  readonly busy: boolean;
  readonly shipment: Shipment;
  index: number;
  text: string;
  misses: number;
}

class Shipment {
  slots: Array<Slot | null> = [];
  bytes = ENVELOPE_BYTES;
  left = 0;
  sent = false;
  sentAt = 0;
  /** The node that took it, once it said so. */
  node: NodeEntry | null = null;
  cancels: number[] | null = null;
  cancelReason: CancelReason = 'CANCELLED';

  constructor(
    readonly seq: number,
    readonly subject: string,
  ) {}
}

/** Sends calls to other nodes and settles them from their answers. */
export class Forwarder implements CallForwarder {
  private seq = 0;
  /** Shipments taking calls in this turn, by subject. */
  private readonly open = new Map<string, Shipment>();
  /** Full shipments waiting for the flush. */
  private sealed: Shipment[] = [];
  private readonly inFlight = new Map<number, Shipment>();
  /** Sent and not acknowledged by any node yet, oldest first. */
  private readonly unacked = new Set<Shipment>();
  private readonly byNode = new Map<string, Set<Shipment>>();
  private readonly cancelling = new Set<Shipment>();
  private flushScheduled = false;
  private readonly replyPrefix: string;
  /** Calls lost with their node so far (a metric). */
  lost = 0;

  constructor(
    private readonly deps: {
      readonly instance: string;
      readonly name: string;
      readonly link: Link;
      readonly subjects: Subjects;
      readonly directory: NodeDirectory;
      readonly registry: ClientRegistry;
      readonly pending: PendingCalls;
      readonly log: Logger;
      /** A shipment nobody acknowledged for this long is lost. */
      readonly lossAfterMs: number;
    },
  ) {
    this.replyPrefix = deps.subjects.replyPrefix(deps.instance);
  }

  /** Calls forwarded and not settled. */
  get size(): number {
    let n = 0;
    for (const s of this.inFlight.values()) n += s.left;
    for (const s of this.open.values()) n += s.left;
    for (const s of this.sealed) n += s.left;
    return n;
  }

  forward(call: ForwardedCall, busy: boolean): boolean {
    if (!this.deps.link.ready) return false;
    this.add(call, busy, 0);
    return true;
  }

  cancel(call: ForwardedCall, reason: ErrorCode): void {
    const slot = call.link as Slot | null;
    if (!slot) return;
    call.link = null;
    const shipment = slot.shipment;
    shipment.slots[slot.index] = null;
    shipment.left--;
    if (!shipment.sent) return;
    (shipment.cancels ??= []).push(slot.index);
    shipment.cancelReason = reason === 'TIMEOUT' ? 'TIMEOUT' : 'CANCELLED';
    this.cancelling.add(shipment);
    if (shipment.left === 0) this.drop(shipment);
    this.scheduleFlush();
  }

  /** An answer (or "no responders") arrived on this node's reply subject. */
  onReply(message: ReplyMessage): void {
    const seq = Number(message.subject.slice(this.replyPrefix.length));
    const shipment = this.inFlight.get(seq);
    if (!shipment) return;
    if (message.status === 503) {
      // No node serves the subject (any more): the calls stay here or fail as the cluster answers.
      this.drop(shipment);
      for (const slot of this.live(shipment)) this.nowhere(slot);
      return;
    }
    let answer;
    try {
      answer = readAnswer(message.data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable answer to a forwarded call');
      return;
    }
    const node = this.deps.directory.touch(answer.n, answer.name);
    if (answer.bad !== undefined) {
      this.drop(shipment);
      const error = new PagecallError('INTERNAL', `node ${JSON.stringify(answer.name)} could not read the forwarded call: ${answer.bad}`, { node: answer.name });
      for (const slot of this.live(shipment)) this.deps.pending.forwardedResult(slot.call, { error, clientId: null, node: answer.name, attempts: 0 });
      return;
    }
    let missed: Slot[] | undefined;
    for (const result of answer.r ?? []) {
      const slot = shipment.slots[result.i];
      if (!slot) continue;
      shipment.slots[result.i] = null;
      shipment.left--;
      slot.call.link = null;
      if ('miss' in result) (missed ??= []).push(slot);
      else this.settle(slot, result, answer.name);
    }
    if (shipment.left === 0) this.drop(shipment);
    else if (shipment.node === null) {
      // Calls still running there: from now on, that node's silence fails them.
      shipment.node = node;
      this.unacked.delete(shipment);
      let held = this.byNode.get(node.instance);
      if (!held) this.byNode.set(node.instance, (held = new Set()));
      held.add(shipment);
    }
    if (missed) for (const slot of missed) this.again(slot);
  }

  /** A node said bye or went silent: the calls it held are lost. */
  onNodeGone(node: NodeEntry, why: GoneReason): void {
    const held = this.byNode.get(node.instance);
    if (!held) return;
    this.byNode.delete(node.instance);
    const how = why === 'left' ? 'left the cluster' : `stopped answering (no heartbeat for ${node.heartbeatMs * MISSED_BEATS} ms)`;
    for (const shipment of held) {
      this.lose(shipment, (call) => `node ${JSON.stringify(node.name)} ${how} while running ${JSON.stringify(call.action)}`, node.name);
    }
  }

  /** Shipments no node acknowledged in time are lost (their node died before it could say it had them). */
  sweep(now = performance.now()): void {
    for (const shipment of this.unacked) {
      if (now - shipment.sentAt <= this.deps.lossAfterMs) break;
      this.lose(shipment, (call) => `no node confirmed it was running ${JSON.stringify(call.action)} within ${this.deps.lossAfterMs} ms; the node that took it may have died or been cut off`, null);
    }
  }

  /** This node lost NATS: calls out on other nodes can no longer be answered; calls not sent yet stay here. */
  onDisconnect(): void {
    for (const shipment of [...this.inFlight.values()]) {
      const where = shipment.node ? `on node ${JSON.stringify(shipment.node.name)}` : 'on another node';
      this.lose(shipment, (call) => `this node lost its NATS connection while ${JSON.stringify(call.action)} ran ${where}`, shipment.node?.name ?? null);
    }
    this.cancelling.clear();
    for (const shipment of this.takeUnsent()) for (const slot of this.live(shipment)) this.nowhere(slot);
  }

  private add(call: ForwardedCall, busy: boolean, misses: number): void {
    const { subjects, link } = this.deps;
    const pinned = call.request.clientId;
    const subject = pinned !== undefined ? subjects.client(pinned) : subjects.call(call.group, call.action);
    const text = encodeCall(call, call.deadline - performance.now());
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes + ENVELOPE_BYTES > link.maxPayload) {
      throw new PagecallError(
        'PAYLOAD_TOO_LARGE',
        `the call (${bytes} bytes as JSON) is over the NATS server's max_payload (${link.maxPayload} bytes), so no other node can take it; raise max_payload in the NATS server's configuration or send smaller arguments`,
        { limit: link.maxPayload },
      );
    }
    let shipment = this.open.get(subject);
    if (shipment && (shipment.bytes + bytes > link.maxPayload || shipment.slots.length >= MAX_SHIPMENT_CALLS)) {
      this.sealed.push(shipment);
      shipment = undefined;
    }
    if (!shipment) {
      shipment = new Shipment(++this.seq, subject);
      this.open.set(subject, shipment);
    }
    const slot: Slot = { call, busy, shipment, index: shipment.slots.length, text, misses };
    shipment.slots.push(slot);
    shipment.left++;
    shipment.bytes += bytes;
    call.link = slot;
    this.scheduleFlush();
  }

  /**
   * With nothing out on other nodes, calls leave at the end of this task (a lone caller waits for
   * nothing); under load, at the end of the event loop's poll phase, so the calls of every request
   * read in it go out together: fewer, larger messages, and fewer writes on both nodes.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.inFlight.size === 0) queueMicrotask(this.flush);
    else setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const { link, subjects, instance, name } = this.deps;
    const unsent = this.takeUnsent();
    if (!link.ready) {
      for (const shipment of unsent) for (const slot of this.live(shipment)) this.nowhere(slot);
      this.cancelling.clear();
      return;
    }
    for (const shipment of unsent) {
      // Calls cancelled before the flush are left out; the rest are renumbered.
      const texts: string[] = [];
      const slots: Slot[] = [];
      for (const slot of shipment.slots) {
        if (!slot) continue;
        slot.index = slots.length;
        slots.push(slot);
        texts.push(slot.text);
        slot.text = '';
      }
      if (slots.length === 0) continue;
      shipment.slots = slots;
      shipment.sent = true;
      shipment.sentAt = performance.now();
      this.inFlight.set(shipment.seq, shipment);
      this.unacked.add(shipment);
      try {
        link.publish(shipment.subject, encodeShipment(instance, name, texts), subjects.reply(instance, shipment.seq));
      } catch (error) {
        this.deps.log.warn({ err: (error as Error).message, subject: shipment.subject }, 'cluster: could not publish forwarded calls');
        this.drop(shipment);
        for (const slot of this.live(shipment)) this.nowhere(slot);
      }
    }
    for (const shipment of this.cancelling) {
      const target = shipment.node ? subjects.nodeCancel(shipment.node.instance) : subjects.cancel;
      link.publish(target, JSON.stringify({ v: CLUSTER_PROTOCOL, from: instance, seq: shipment.seq, i: shipment.cancels, reason: shipment.cancelReason }));
      shipment.cancels = null;
    }
    this.cancelling.clear();
  };

  private takeUnsent(): Shipment[] {
    const unsent = this.sealed;
    this.sealed = [];
    for (const shipment of this.open.values()) unsent.push(shipment);
    this.open.clear();
    return unsent;
  }

  private settle(slot: Slot, result: Exclude<WireResult, { miss: true }>, node: string): void {
    if (result.ok) {
      this.deps.pending.forwardedResult(slot.call, { error: null, value: result.value, clientId: result.c, node, attempts: result.at });
    } else {
      const { code, message, data } = result.error;
      this.deps.pending.forwardedResult(slot.call, { error: new PagecallError(code, message, data), clientId: result.c, node, attempts: result.at });
    }
  }

  /** The node's page for the call had just left: send it out again (another node may have one). */
  private again(slot: Slot): void {
    if (slot.misses + 1 >= MAX_MISSES || !this.deps.link.ready) {
      this.nowhere(slot);
      return;
    }
    try {
      this.add(slot.call, slot.busy, slot.misses + 1);
    } catch (error) {
      this.deps.pending.forwardedResult(slot.call, { error: PagecallError.from(error), clientId: null, node: this.deps.name, attempts: 0 });
    }
  }

  /** No node could take the call. */
  private nowhere(slot: Slot): void {
    slot.call.link = null;
    this.deps.pending.forwardedNowhere(slot.call, this.clusterError(slot));
  }

  /**
   * What the cluster as a whole answers for a call no node took: NO_CLIENT when no node has the
   * group (naming every node's groups), ACTION_NOT_FOUND when some do but none has the action
   * (listing every node's actions); null when pages here have it and the call should wait for one.
   */
  private clusterError(slot: Slot): PagecallError | null {
    const { busy, call } = slot;
    if (busy) return null;
    const { registry, directory } = this.deps;
    const { group, action } = call;
    // What this node alone answers; none when a page here has the action by now (it runs here).
    let here: PagecallError;
    try {
      registry.candidates(group, action, call.request.clientId);
      return null;
    } catch (error) {
      here = PagecallError.from(error);
    }
    const groups = (): string[] => [...new Set([...registry.groupNames(), ...directory.groupNames()])].sort();
    const clientId = call.request.clientId;
    if (clientId !== undefined) {
      if (here.code !== 'NO_CLIENT') return here;
      return noClientError(`no page with client id ${JSON.stringify(clientId)} is connected in group ${JSON.stringify(group)} on any node`, { group, clientId }, groups());
    }
    if (here.code === 'ACTION_NOT_FOUND') {
      const local = (here.data as { available?: unknown } | undefined)?.available;
      return actionNotFoundError(group, action, [...(Array.isArray(local) ? (local as string[]) : []), ...directory.actionsOf(group)]);
    }
    if (here.code === 'NO_CLIENT') {
      if (directory.hasGroup(group)) return actionNotFoundError(group, action, directory.actionsOf(group));
      return noClientError(`no page is connected in group ${JSON.stringify(group)}`, { group }, groups());
    }
    return here;
  }

  private lose(shipment: Shipment, message: (call: ForwardedCall) => string, node: string | null): void {
    this.drop(shipment);
    for (const slot of this.live(shipment)) {
      slot.call.link = null;
      this.lost++;
      this.deps.pending.forwardedLost(slot.call, new PagecallError('CLIENT_DISCONNECTED', message(slot.call), { clientId: null, node }));
    }
  }

  /** The calls of a shipment still waiting for their answer (taken out of it). */
  private live(shipment: Shipment): Slot[] {
    const slots: Slot[] = [];
    for (const slot of shipment.slots) if (slot) slots.push(slot);
    shipment.slots = [];
    shipment.left = 0;
    return slots;
  }

  private drop(shipment: Shipment): void {
    this.inFlight.delete(shipment.seq);
    this.unacked.delete(shipment);
    if (shipment.node) this.byNode.get(shipment.node.instance)?.delete(shipment);
  }
}
