/** Which pages are connected, in which groups, with which functions. */
import { PagecallError } from '../protocol/index.js';
import type { PageClient } from './page-client.js';

interface Group {
  readonly clients: Set<PageClient>;
  /** action → pages that registered it; rebuilt lazily after a change. */
  byAction: Map<string, PageClient[]> | null;
  /** rotates the balancer's starting point */
  cursor: number;
}

/** Groups named in a NO_CLIENT message; more are counted. */
const MAX_NAMED_GROUPS = 10;
/** Groups listed in a NO_CLIENT error's `data.groups`. */
const MAX_LISTED_GROUPS = 100;

/** The registry of connected pages. Empty groups are removed as soon as their last page leaves. */
export class ClientRegistry {
  private readonly clients = new Map<string, PageClient>();
  private readonly groups = new Map<string, Group>();
  /** Group names, sorted; rebuilt after a group is added or removed (for NO_CLIENT errors). */
  private sortedGroups: string[] | null = null;

  /** Number of connected pages. */
  get size(): number {
    return this.clients.size;
  }

  /** Number of groups with at least one page. */
  get groupCount(): number {
    return this.groups.size;
  }

  /** The page with this id, if connected. */
  get(id: string): PageClient | undefined {
    return this.clients.get(id);
  }

  /** Adds a page; returns the page it replaced (same client id), which the caller must close. */
  add(client: PageClient): PageClient | undefined {
    const previous = this.clients.get(client.id);
    if (previous) this.remove(previous);
    this.clients.set(client.id, client);
    let group = this.groups.get(client.group);
    if (!group) {
      group = { clients: new Set(), byAction: null, cursor: 0 };
      this.groups.set(client.group, group);
      this.sortedGroups = null;
    }
    group.clients.add(client);
    group.byAction = null;
    return previous;
  }

  /** Removes a page; returns false when it was not (or no longer) registered. */
  remove(client: PageClient): boolean {
    if (this.clients.get(client.id) !== client) return false;
    this.clients.delete(client.id);
    const group = this.groups.get(client.group);
    if (group) {
      group.clients.delete(client);
      group.byAction = null;
      if (group.clients.size === 0) {
        this.groups.delete(client.group);
        this.sortedGroups = null;
      }
    }
    return true;
  }

  /** Replaces a page's function list. */
  setActions(client: PageClient, actions: readonly string[]): void {
    client.actions = new Set(actions);
    const group = this.groups.get(client.group);
    if (group) group.byAction = null;
  }

  /** All pages, optionally of one group. */
  list(group?: string): PageClient[] {
    if (group === undefined) return [...this.clients.values()];
    return [...(this.groups.get(group)?.clients ?? [])];
  }

  /** Names of the groups that have pages. */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Whether a page here registered `action` in `group` (or is `clientId` there and has it), busy or
   * not. Never throws: a node of a cluster asks before candidates() so that a call for another
   * node's pages costs no error it would throw away.
   */
  serves(groupName: string, action: string, clientId?: string): boolean {
    const group = this.groups.get(groupName);
    if (!group) return false;
    if (clientId !== undefined) {
      const client = this.clients.get(clientId);
      return client !== undefined && client.group === groupName && (client.actions.has(action) || action.startsWith('$'));
    }
    if (action.startsWith('$')) return true;
    if (!group.byAction) group.byAction = indexByAction(group.clients);
    return group.byAction.has(action);
  }

  /**
   * The pages that can run `action` in `group` (only `clientId` when given), with the group's
   * rotating cursor. Throws NO_CLIENT or ACTION_NOT_FOUND when there are none.
   */
  candidates(groupName: string, action: string, clientId?: string): { clients: readonly PageClient[]; group: { cursor: number } } {
    const group = this.groups.get(groupName);
    if (!group) throw this.noClient(`no page is connected in group ${JSON.stringify(groupName)}`, { group: groupName });
    if (clientId !== undefined) {
      const client = this.clients.get(clientId);
      if (!client || client.group !== groupName) {
        throw this.noClient(`no page with client id ${JSON.stringify(clientId)} is connected in group ${JSON.stringify(groupName)}`, { group: groupName, clientId });
      }
      if (!client.actions.has(action) && !action.startsWith('$')) {
        throw new PagecallError('ACTION_NOT_FOUND', `page ${clientId} has not registered ${JSON.stringify(action)}`, { group: groupName, clientId, available: [...client.actions].sort() });
      }
      return { clients: [client], group };
    }
    if (!group.byAction) group.byAction = indexByAction(group.clients);
    // Built-in actions (`$eval`) are served by every page of the group.
    const clients = action.startsWith('$') ? [...group.clients] : group.byAction.get(action);
    if (!clients) {
      throw actionNotFoundError(groupName, action, [...group.byAction.keys()]);
    }
    return { clients, group };
  }

  /**
   * NO_CLIENT, saying which groups do have pages (a typo in the group name is the usual cause):
   * the message names the first few, `data.groups` lists up to MAX_LISTED_GROUPS, sorted.
   */
  private noClient(message: string, data: { group: string; clientId?: string }): PagecallError {
    return noClientError(message, data, (this.sortedGroups ??= [...this.groups.keys()].sort()));
  }
}

/**
 * NO_CLIENT, naming the groups that do have pages (`groups`, sorted): the message names the first
 * few, `data.groups` lists up to MAX_LISTED_GROUPS. Shared with the cluster, which lists every node's groups.
 */
export function noClientError(message: string, data: { group: string; clientId?: string }, groups: readonly string[]): PagecallError {
  const listed = groups.slice(0, MAX_LISTED_GROUPS);
  let known: string;
  if (groups.length === 0) known = 'no page is connected at all';
  else {
    const named = groups.slice(0, MAX_NAMED_GROUPS).map((g) => JSON.stringify(g)).join(', ');
    const more = groups.length > MAX_NAMED_GROUPS ? ` and ${groups.length - MAX_NAMED_GROUPS} more` : '';
    known = `connected group${groups.length === 1 ? '' : 's'}: ${named}${more}`;
  }
  return new PagecallError('NO_CLIENT', `${message} (${known})`, { ...data, groups: listed });
}

/** ACTION_NOT_FOUND for a group whose pages registered `available` (any order) but not `action`. */
export function actionNotFoundError(group: string, action: string, available: Iterable<string>): PagecallError {
  return new PagecallError('ACTION_NOT_FOUND', `no page in group ${JSON.stringify(group)} has registered ${JSON.stringify(action)}`, { group, available: [...new Set(available)].sort() });
}

function indexByAction(clients: Iterable<PageClient>): Map<string, PageClient[]> {
  const index = new Map<string, PageClient[]>();
  for (const client of clients) {
    for (const action of client.actions) {
      const list = index.get(action);
      if (list) list.push(client);
      else index.set(action, [client]);
    }
  }
  return index;
}
