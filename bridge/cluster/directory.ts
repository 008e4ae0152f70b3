/**
 * The other nodes of the cluster as their heartbeats describe them. A node is gone when it says
 * bye, or when nothing was heard from it for MISSED_BEATS of its own heartbeat intervals; whoever
 * listens (the forwarder, the responder) then fails or cancels the calls it had with that node.
 */
import { performance } from 'node:perf_hooks';
import type { HeartbeatMessage } from './wire.js';

/** Heartbeats a node may miss before it counts as gone. */
export const MISSED_BEATS = 3;

/** One other node. */
export interface NodeEntry {
  readonly instance: string;
  name: string;
  url: string;
  version: string;
  /** Epoch ms it started. */
  since: number;
  heartbeatMs: number;
  pages: number;
  groups: ReadonlyMap<string, readonly string[]>;
  /** Its heartbeat left groups or actions out. */
  more: boolean;
  /** Stream topics it follows, by group (`*`: every topic of the group). */
  streams: Map<string, Set<string>>;
  /** performance.now() of the last message from it. */
  lastSeen: number;
  /** Known from a heartbeat (not only from an answer or a shipment). */
  announced: boolean;
}

/** Why a node left the directory. */
export type GoneReason = 'silent' | 'left';

/** The nodes this node has heard from. */
export class NodeDirectory {
  private readonly nodes = new Map<string, NodeEntry>();

  constructor(
    private readonly onGone: (node: NodeEntry, why: GoneReason) => void,
    /** Interval assumed for a node heard from before its first heartbeat. */
    private readonly defaultHeartbeatMs: number,
  ) {}

  /** Number of other nodes. */
  get size(): number {
    return this.nodes.size;
  }

  /** A node by instance id. */
  get(instance: string): NodeEntry | undefined {
    return this.nodes.get(instance);
  }

  /** Every other node. */
  list(): NodeEntry[] {
    return [...this.nodes.values()];
  }

  /** A heartbeat arrived. Returns the entry, and whether the node is new to this directory. */
  heard(beat: HeartbeatMessage): { node: NodeEntry; isNew: boolean } {
    if (beat.bye) {
      const gone = this.nodes.get(beat.n);
      if (gone) this.remove(gone, 'left');
      return { node: gone ?? this.entry(beat.n, beat.name), isNew: false };
    }
    let node = this.nodes.get(beat.n);
    const isNew = node === undefined || !node.announced;
    if (!node) {
      node = this.entry(beat.n, beat.name);
      this.nodes.set(beat.n, node);
    }
    node.name = beat.name;
    node.url = typeof beat.url === 'string' ? beat.url : '';
    node.version = typeof beat.version === 'string' ? beat.version : '';
    node.since = typeof beat.since === 'number' ? beat.since : 0;
    node.heartbeatMs = beat.hb > 0 ? beat.hb : this.defaultHeartbeatMs;
    node.pages = typeof beat.pages === 'number' ? beat.pages : 0;
    node.groups = new Map(Object.entries(beat.groups).filter((e): e is [string, string[]] => Array.isArray(e[1])));
    node.more = beat.more === true;
    node.streams = readStreams(beat.streams);
    node.lastSeen = performance.now();
    node.announced = true;
    return { node, isNew };
  }

  /** Any other message from a node proves it alive; a node not heard of before is added. */
  touch(instance: string, name: string): NodeEntry {
    let node = this.nodes.get(instance);
    if (!node) {
      node = this.entry(instance, name);
      this.nodes.set(instance, node);
    }
    node.lastSeen = performance.now();
    return node;
  }

  /** Removes nodes silent for MISSED_BEATS of their intervals; returns how many went. */
  sweep(now = performance.now()): number {
    let gone = 0;
    for (const node of [...this.nodes.values()]) {
      if (now - node.lastSeen > node.heartbeatMs * MISSED_BEATS) {
        this.remove(node, 'silent');
        gone++;
      }
    }
    return gone;
  }

  /** Forgets every node without reporting them gone (this node lost NATS; its own calls are handled apart). */
  clear(): void {
    this.nodes.clear();
  }

  /** Node `instance` follows `group`/`topic` from now on (its interest message; its heartbeats say so from then on). */
  follows(instance: string, name: string, group: string, topic: string): void {
    const node = this.touch(instance, name);
    let topics = node.streams.get(group);
    if (!topics) {
      topics = new Set();
      node.streams.set(group, topics);
    }
    topics.add(topic);
  }

  /** Whether any other node follows `group`/`topic` (its pages' entries of it are then sent). */
  wantsStream(group: string, topic: string): boolean {
    for (const node of this.nodes.values()) {
      const topics = node.streams.get(group);
      if (topics !== undefined && (topics.has(topic) || topics.has('*'))) return true;
    }
    return false;
  }

  /** Whether any other node has a page in `group`. */
  hasGroup(group: string): boolean {
    for (const node of this.nodes.values()) if (node.groups.has(group)) return true;
    return false;
  }

  /** The actions other nodes' pages registered in `group`. */
  actionsOf(group: string): string[] {
    const actions = new Set<string>();
    for (const node of this.nodes.values()) for (const a of node.groups.get(group) ?? []) actions.add(a);
    return [...actions];
  }

  /** The groups other nodes have pages in. */
  groupNames(): string[] {
    const groups = new Set<string>();
    for (const node of this.nodes.values()) for (const g of node.groups.keys()) groups.add(g);
    return [...groups];
  }

  private remove(node: NodeEntry, why: GoneReason): void {
    if (this.nodes.get(node.instance) !== node) return;
    this.nodes.delete(node.instance);
    this.onGone(node, why);
  }

  private entry(instance: string, name: string): NodeEntry {
    return { instance, name, url: '', version: '', since: 0, heartbeatMs: this.defaultHeartbeatMs, pages: 0, groups: new Map(), more: false, streams: new Map(), lastSeen: performance.now(), announced: false };
  }
}

/** A heartbeat's `streams` as sets (what is not a list of strings is left out). */
function readStreams(streams: unknown): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  if (streams === null || typeof streams !== 'object') return out;
  for (const [group, topics] of Object.entries(streams)) {
    if (Array.isArray(topics)) out.set(group, new Set(topics.filter((t): t is string => typeof t === 'string')));
  }
  return out;
}
