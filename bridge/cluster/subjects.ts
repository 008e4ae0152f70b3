/**
 * The NATS subjects of one cluster, all under its prefix (`--nats-prefix`, default `pagecall`):
 *
 *   P.call.<group>.<action>     a call for any page with the action; queue group `serve`, so one node gets it.
 *                               A node subscribes while one of its pages has the action (once per such
 *                               page, up to MAX_WEIGHT, so a node with more pages gets more calls).
 *   P.client.<clientId>         a call pinned to one page, or a kick; subscribed by the node holding it.
 *   P.reply.<instance>.<seq>    answers to one shipment of calls (acks, results, "no responders");
 *                               `L<seq>`: the parts of every node's answer to one listing.
 *   P.cancel                    cancels for a shipment whose node is not known yet (every node listens).
 *   P.node.<instance>.cancel    cancels for a shipment a node has acknowledged.
 *   P.hb                        heartbeats: every node announces itself, its groups and actions.
 *   P.list                      the cluster-wide page listing (every node answers).
 *   P.events.<group>.<topic>    entries of a stream topic from one node's pages; subscribed by the
 *                               nodes that follow the topic (a /v1/stream subscriber there).
 *   P.interest                  a node starts following a topic (every node listens and confirms).
 *
 * Names become subject tokens with subjectToken(): characters other than letters, digits and
 * `_ - : / $` are escaped, so a group `shop.eu` cannot add a level to the subject.
 */

/** The queue group nodes serve calls in. */
export const SERVE_QUEUE = 'serve';

/** Most subscriptions one node holds on one call subject (its weight in the queue group). */
export const MAX_WEIGHT = 8;

const SAFE = /^[A-Za-z0-9_\-:/$]+$/;
const encoder = new TextEncoder();

/**
 * A name as one subject token: kept as it is when it has only safe characters, otherwise every
 * other byte (and `~`) becomes `~` and two hex digits. Injective, so two names never share a subject.
 */
export function subjectToken(name: string): string {
  if (SAFE.test(name)) return name;
  let out = '';
  for (const char of name) {
    if (SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const decoder = new TextDecoder();

/** The name a subjectToken() came from. */
export function nameFromToken(token: string): string {
  if (!token.includes('~')) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(token[i]!));
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** The subjects of the cluster with prefix `prefix`. */
export class Subjects {
  readonly heartbeat: string;
  readonly list: string;
  readonly cancel: string;
  readonly interest: string;

  constructor(readonly prefix: string) {
    this.heartbeat = `${prefix}.hb`;
    this.list = `${prefix}.list`;
    this.cancel = `${prefix}.cancel`;
    this.interest = `${prefix}.interest`;
  }

  /** Calls of `action` in `group` (built-in `$` actions included: every page of the group serves those). */
  call(group: string, action: string): string {
    return `${this.prefix}.call.${subjectToken(group)}.${subjectToken(action)}`;
  }

  /** Calls pinned to one page, and kicks. */
  client(clientId: string): string {
    return `${this.prefix}.client.${subjectToken(clientId)}`;
  }

  /** Where answers to shipment `seq` (or listing `L<seq>`) of node `instance` go. */
  reply(instance: string, seq: number | string): string {
    return `${this.prefix}.reply.${instance}.${seq}`;
  }

  /** Every answer to node `instance` (its one reply subscription). */
  replies(instance: string): string {
    return `${this.prefix}.reply.${instance}.*`;
  }

  /** The prefix of reply subjects of `instance`, to read the shipment number back. */
  replyPrefix(instance: string): string {
    return `${this.prefix}.reply.${instance}.`;
  }

  /** Cancels for shipments node `instance` has acknowledged. */
  nodeCancel(instance: string): string {
    return `${this.prefix}.node.${instance}.cancel`;
  }

  /** Entries of one stream topic, from every node's pages. */
  events(group: string, topic: string): string {
    return `${this.prefix}.events.${subjectToken(group)}.${subjectToken(topic)}`;
  }
}
