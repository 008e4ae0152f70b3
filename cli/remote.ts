/**
 * `pagecall clients` and `pagecall call`: talk to a running bridge over its HTTP API and print
 * readable results (or the API's JSON with --json). Errors print `CODE: message` and exit 1.
 */
import { Command } from 'commander';
import { ConfigError, DEFAULTS } from '../bridge/config.js';
import type { ClientInfo } from '../bridge/page-client.js';
import { addTokenOptions, parseWholeNumber, withToken } from './flags.js';
import { fail, print, printError as printToStderr } from './stdio.js';

/** Where the bridge is and how to reach it. */
export interface RemoteFlags {
  url: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

/** Flags of `pagecall clients`. */
export interface ClientsFlags extends RemoteFlags {
  group?: string;
}

/** Flags of `pagecall call`. */
export interface CallFlags extends RemoteFlags {
  clientId?: string;
  timeoutMs?: number;
}

/** Where the output goes (process streams in the CLI; buffers in tests). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` is a terminal (control characters in page text are escaped there). */
  tty: boolean;
}

/** How long to wait for the bridge beyond the call's own deadline. */
const SLACK_MS = 5_000;
const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** The default bridge URL: $PAGECALL_URL, else the default port on loopback. */
export function defaultBridgeUrl(env: Record<string, string | undefined> = process.env): string {
  return env.PAGECALL_URL ?? `http://127.0.0.1:${DEFAULTS.port}`;
}

/** A command-line argument as a call argument: JSON when it parses (`5`, `true`, `{"a":1}`, `"5"`), else the string itself. */
export function parseCliArg(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Characters that change how the text around them is shown without being seen themselves: bidi
 * controls (U+202E turns `exe.txt` into `txt.exe` on screen), zero-width and other format
 * characters, line and paragraph separators. A page picks its title and URL; they are escaped.
 */
const INVISIBLE = /[\p{Cf}\u2028\u2029]/gu;

/**
 * Escapes control characters (ANSI escapes in a page title would otherwise drive the terminal) as
 * `\x1b`, and bidi and other invisible format characters as `\u{202e}`.
 */
export function printable(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(INVISIBLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * JSON text with DEL, C1 controls and every invisible format character written as `\uXXXX`
 * escapes (JSON.stringify escapes only the C0 controls): the same JSON to a parser, but a terminal
 * shows what is there instead of acting on it.
 */
export function jsonForTerminal(value: unknown): string {
  const escape = (c: string): string => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  return (JSON.stringify(value, null, 2) ?? 'undefined').replace(/[\u007f-\u009f]/g, escape).replace(INVISIBLE, escape);
}

/** printable() on one line: page titles and URLs cannot start fake lines of the listing. */
const oneLine = (text: string): string => printable(text).replace(/\n/g, '\\n');

type ApiBody = { ok: true; [key: string]: unknown } | { ok: false; error: { code: string; message: string; data?: unknown } };

/** Raised when no usable answer came back; the message says what to do. */
class Unreachable extends Error {}

async function request(flags: RemoteFlags, method: string, path: string, body: unknown, timeoutMs: number): Promise<ApiBody> {
  let base: URL;
  try {
    base = new URL(flags.url);
  } catch {
    throw new Unreachable(`--url: not a URL: ${JSON.stringify(flags.url)}`);
  }
  const url = new URL(path, base);
  const headers: Record<string, string> = {};
  if (flags.token) headers.authorization = `Bearer ${flags.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') throw new Unreachable(`the bridge at ${base.origin} did not answer within ${timeoutMs} ms`);
    const code = e.cause?.code;
    if (code === 'ECONNREFUSED') throw new Unreachable(`no bridge is running at ${base.origin} (connection refused); start one with \`pagecall serve\` or point --url at it`);
    throw new Unreachable(`cannot reach the bridge at ${base.origin}: ${code ?? e.cause ?? e.message}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { ok?: unknown }).ok !== 'boolean') {
    throw new Unreachable(`${url.origin} answered HTTP ${res.status} with something that is not a pagecall response; is --url right?`);
  }
  return parsed as ApiBody;
}

/** Prints an API error as `CODE: message` (plus the page's stack or the available actions). */
function printError(output: Output, error: { code: string; message: string; data?: unknown }): void {
  output.err(`${error.code}: ${printable(error.message)}\n`);
  const data = error.data as { stack?: unknown; available?: unknown } | undefined;
  if (typeof data?.stack === 'string' && data.stack) {
    output.err(`${printable(data.stack).split('\n').map((line) => `  ${line}`).join('\n')}\n`);
  }
  if (Array.isArray(data?.available)) output.err(`  available: ${data.available.map((a) => printable(String(a))).join(', ') || '(none)'}\n`);
  if (error.code === 'UNAUTHORIZED') output.err('  pass --token-file or set PAGECALL_TOKEN\n');
}

async function run(output: Output, flags: RemoteFlags, work: () => Promise<ApiBody>, show: (body: ApiBody & { ok: true }) => void): Promise<number> {
  let body: ApiBody;
  try {
    body = await work();
  } catch (error) {
    if (error instanceof Unreachable) {
      output.err(`pagecall: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (flags.json) output.out(`${jsonForTerminal(body)}\n`);
  if (!body.ok) {
    printError(output, body.error);
    return 1;
  }
  if (!flags.json) show(body);
  return 0;
}

function ago(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return h < 24 ? `${h}h ${String(m % 60).padStart(2, '0')}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** The readable listing: pages by group. */
export function formatClients(clients: readonly ClientInfo[], now = Date.now()): string {
  if (clients.length === 0) return 'no pages connected\n';
  const groups = new Map<string, ClientInfo[]>();
  for (const c of clients) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  const lines: string[] = [];
  for (const name of [...groups.keys()].sort()) {
    const pages = groups.get(name)!;
    lines.push(`${oneLine(name)} (${pages.length} ${pages.length === 1 ? 'page' : 'pages'})`);
    for (const c of pages) {
      const pad = ' '.repeat(c.id.length + 4);
      // Frames and workers say what they are; a tab's top document is the usual case.
      const where = c.context === 'frame' ? '[frame] ' : c.context === 'worker' ? '[worker] ' : '';
      lines.push(`  ${c.id}  ${where}${oneLine(c.title) || (c.context === 'worker' ? '(worker)' : '(untitled)')}`);
      lines.push(`${pad}${oneLine(c.url)}`);
      lines.push(`${pad}from ${c.origin === null ? '(no origin: a program, not a browser)' : oneLine(c.origin)}${c.admission === 'open' ? ' · joined WITHOUT a key (--open-pages)' : ''}`);
      lines.push(`${pad}functions: ${c.actions.map(oneLine).join(', ') || '(none yet)'}`);
      lines.push(`${pad}connected ${ago(c.connectedAt, now)}${c.node === undefined ? '' : ` · node ${oneLine(c.node)}`} · in flight ${c.inFlight} · served ${c.served} · failed ${c.failed}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What GET /v1/clients says about the cluster (only when the bridge is in one). */
export interface ClusterSummary {
  node: string;
  nats: string;
  nodes: string[];
  missing: string[];
}

/** The listing's first line in a cluster: the nodes, and which of them did not answer. */
export function formatClusterLine(cluster: ClusterSummary): string {
  const nodes = cluster.nodes.map(oneLine).join(', ');
  let line = `cluster: ${cluster.nodes.length} ${cluster.nodes.length === 1 ? 'node' : 'nodes'} (${nodes}), asked ${oneLine(cluster.node)}`;
  if (cluster.nats !== 'connected') line += `; NATS ${oneLine(cluster.nats)}: only ${oneLine(cluster.node)}'s pages are listed`;
  if (cluster.missing.length > 0) line += `; no answer from ${cluster.missing.map(oneLine).join(', ')} (their pages are missing below)`;
  return `${line}\n`;
}

/** A result as printed: strings as they are (escaped on a terminal), everything else as indented JSON. */
export function formatResult(value: unknown, tty: boolean): string {
  if (typeof value === 'string') return `${tty ? printable(value) : value}\n`;
  return `${jsonForTerminal(value)}\n`;
}

/** What `clients --group g` prints when g has no pages: the group, and the groups that do have pages. */
export function formatEmptyGroup(group: string, others: readonly ClientInfo[]): string {
  const counts = new Map<string, number>();
  for (const c of others) counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
  const listed = [...counts.keys()].sort().map((name) => `${oneLine(name)} (${counts.get(name)} ${counts.get(name) === 1 ? 'page' : 'pages'})`);
  return `no pages in group ${oneLine(group)}; ${listed.length ? `connected groups: ${listed.join(', ')}` : 'no pages connected at all'}\n`;
}

/** `pagecall clients`: returns the exit code. */
export async function clientsCommand(flags: ClientsFlags, output: Output): Promise<number> {
  const path = flags.group === undefined ? '/v1/clients' : `/v1/clients?group=${encodeURIComponent(flags.group)}`;
  let all: ClientInfo[] = [];
  const work = async (): Promise<ApiBody> => {
    const body = await request(flags, 'GET', path, undefined, 10_000);
    // An empty group is often a typo: fetch the others to name them.
    if (body.ok && flags.group !== undefined && !flags.json && (body.clients as ClientInfo[]).length === 0) {
      const everyone = await request(flags, 'GET', '/v1/clients', undefined, 10_000);
      if (everyone.ok) all = everyone.clients as ClientInfo[];
    }
    return body;
  };
  return run(output, flags, work, (body) => {
    const clients = body.clients as ClientInfo[];
    if (body.cluster !== undefined) output.out(formatClusterLine(body.cluster as ClusterSummary));
    output.out(clients.length === 0 && flags.group !== undefined ? formatEmptyGroup(flags.group, all) : formatClients(clients));
  });
}

/** `pagecall call`: returns the exit code. */
export function callCommand(group: string, action: string, args: readonly string[], flags: CallFlags, output: Output): Promise<number> {
  const body: Record<string, unknown> = { group, action, args: args.map(parseCliArg) };
  if (flags.clientId !== undefined) body.clientId = flags.clientId;
  if (flags.timeoutMs !== undefined) body.timeoutMs = flags.timeoutMs;
  const wait = (flags.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) + SLACK_MS;
  return run(output, flags, () => request(flags, 'POST', '/v1/call', body, wait), (res) => output.out(formatResult(res.result, output.tty)));
}

/** Where the commands' output goes when run from the command line. */
const stdio: Output = { out: print, err: printToStderr, tty: process.stdout.isTTY === true };

/** The flags every command that talks to a running bridge takes. */
/** --url, --token, --token-file and --json: what every command that talks to a running bridge takes. */
export function remoteOptions(command: Command): Command {
  return addTokenOptions(command.option('-u, --url <url>', 'bridge base URL [env PAGECALL_URL]', defaultBridgeUrl())).option('--json', 'print the API response as JSON');
}

/** The flags with the token resolved; a token file that cannot be read ends the command (exit 2). */
export function resolved<T extends { token?: string; tokenFile?: string }>(flags: T): T | undefined {
  try {
    return withToken(flags, process.env, printToStderr);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message);
    return undefined;
  }
}

/** The `clients` command. */
export function clientsCli(): Command {
  return remoteOptions(
    new Command('clients')
      .description('list the pages connected to a running bridge (in a cluster: to every node), by group')
      .option('-g, --group <name>', 'only pages of this group'),
  ).action(async (flags: ClientsFlags) => {
    const ready = resolved(flags);
    if (ready) process.exitCode = await clientsCommand(ready, stdio);
  });
}

/** The `call` command. */
export function callCli(): Command {
  return remoteOptions(
    new Command('call')
      .description('call a page function through a running bridge and print its result')
      .argument('<group>', 'group the pages joined')
      .argument('<action>', 'function name the page registered')
      .argument('[args...]', 'arguments: each is parsed as JSON when it parses (5, true, null, {"a":1}, \'"5"\'), else taken as a string')
      .option('--client-id <id>', 'run in this page only')
      .option('--timeout-ms <n>', "deadline in ms (default: the bridge's --timeout-ms)", parseWholeNumber),
  )
    .addHelpText(
      'after',
      `
Prints a string result as it is and any other result as JSON; with --json, the whole response.
A failed call prints CODE: message to stderr and exits 1. Put -- before arguments that start with "--".

Examples:
  pagecall call shop sign /api/items?page=1
  pagecall call live decode '{"$bytes":"CgVoZWxsbw=="}' --json
  pagecall call demo add 2 3 --client-id x7d0q2m4p9aa`,
    )
    .action(async (group: string, action: string, args: string[], flags: CallFlags) => {
      const ready = resolved(flags);
      if (ready) process.exitCode = await callCommand(group, action, args, ready, stdio);
    });
}
