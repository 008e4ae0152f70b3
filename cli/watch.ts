/**
 * `pagecall watch <group> <topic>`: follows a stream (GET /v1/stream, NDJSON) and prints one
 * readable line per entry, or the NDJSON itself with --json. A lost connection is resumed with the
 * last event id; when the bridge restarted in between, it says that what was published meanwhile
 * is lost.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Command } from 'commander';
import { addTokenOptions, parseWholeNumber } from './flags.js';
import { defaultBridgeUrl, printable, resolved, type Output, type RemoteFlags } from './remote.js';
import { print, printError } from './stdio.js';

/** Flags of `pagecall watch`. */
export interface WatchFlags extends RemoteFlags {
  clientId?: string;
  /** Resume after this event id (`lastEventId`): `0` replays what the bridge keeps. */
  since?: string;
  /** Stop after this many events (values; errors and gaps do not count). */
  count?: number;
}

/** One entry of the stream, as the bridge sends it (docs/streams.md). */
interface Entry {
  type: 'event' | 'error' | 'gap';
  id?: string;
  seq?: number;
  clientId?: string;
  /** In a cluster: the node holding the page. */
  node?: string;
  time: number;
  value?: unknown;
  error?: { name?: string; message?: string };
  reason?: string;
  missed?: number | null;
  message?: string;
}

/** Reconnect delays: 250 ms doubling to 5 s. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

// Bidirectional controls reorder what a terminal shows (a "Trojan Source" line); shown as \u{…}.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe for a terminal line: control and bidirectional characters escaped, newlines as \n. */
export function terminalText(text: string): string {
  return printable(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(BIDI, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

function clockOf(time: number): string {
  const d = new Date(time);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** One readable line for an entry: time, page (`@node` in a cluster), sequence number, then the value (strings as they are, the rest as JSON). */
export function formatEntry(entry: Entry): string {
  const time = clockOf(entry.time);
  if (entry.type === 'gap') {
    const missed = typeof entry.missed === 'number' ? `${entry.missed} missing` : 'unknown number missing';
    return terminalText(`${time}  -- gap (${entry.reason ?? '?'}, ${missed}): ${entry.message ?? ''}`);
  }
  const head = `${time}  ${entry.clientId ?? '?'}${entry.node === undefined ? '' : `@${entry.node}`}  #${entry.seq ?? '?'}  `;
  if (entry.type === 'error') return terminalText(`${head}error  ${entry.error?.name ?? 'Error'}: ${entry.error?.message ?? ''}`);
  const value = typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value);
  return terminalText(head + value);
}

type Attempt = { kind: 'ended' } | { kind: 'refused'; status: number; code: string; message: string } | { kind: 'unreachable'; reason: string } | { kind: 'done' };

/** `pagecall watch`: resolves with the exit code (runs until --count events, a refusal, or `signal`). */
export async function watchCommand(group: string, topic: string, flags: WatchFlags, output: Output, signal?: AbortSignal): Promise<number> {
  let base: URL;
  try {
    base = new URL(flags.url);
  } catch {
    output.err(`pagecall: --url: not a URL: ${JSON.stringify(flags.url)}\n`);
    return 2;
  }
  let lastId: string | undefined = flags.since;
  let events = 0;
  let connectedOnce = false;
  let delay = FIRST_RETRY_MS;
  let lostSaid = false;

  const show = (line: string, entry: Entry): boolean => {
    if (entry.id !== undefined) lastId = entry.id;
    if (flags.json) output.out(`${line}\n`);
    else output.out(`${formatEntry(entry)}\n`);
    if (entry.type === 'gap' && entry.reason === 'reset' && connectedOnce) {
      output.err('pagecall: the bridge restarted (or forgot this topic): events published in between are lost\n');
    }
    if (entry.type === 'event') events++;
    return flags.count !== undefined && events >= flags.count;
  };

  const attempt = (): Promise<Attempt> =>
    new Promise((resolve) => {
      const query = new URLSearchParams({ group, topic });
      if (flags.clientId !== undefined) query.set('clientId', flags.clientId);
      const headers: Record<string, string> = { accept: 'application/x-ndjson' };
      if (flags.token) headers.authorization = `Bearer ${flags.token}`;
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/stream?${query}`, base);
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { headers, signal });
      let settled = false;
      const settle = (result: Attempt): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      req.on('error', (error: Error & { code?: string }) => {
        if (signal?.aborted) settle({ kind: 'done' });
        else settle({ kind: 'unreachable', reason: error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message) });
      });
      req.on('response', (res: IncomingMessage) => {
        res.setEncoding('utf8');
        let buffer = '';
        if (res.statusCode !== 200) {
          res.on('data', (chunk: string) => (buffer += chunk));
          res.on('end', () => {
            try {
              const body = JSON.parse(buffer) as { error?: { code?: string; message?: string } };
              settle({ kind: 'refused', status: res.statusCode ?? 0, code: body.error?.code ?? 'HTTP', message: body.error?.message ?? `HTTP ${res.statusCode}` });
            } catch {
              settle({ kind: 'refused', status: res.statusCode ?? 0, code: 'BAD_RESPONSE', message: `${url.origin} answered HTTP ${res.statusCode} with something that is not a pagecall response; is --url right?` });
            }
          });
          return;
        }
        if (connectedOnce && lostSaid) output.err(`pagecall: reconnected${lastId ? `; resuming after ${lastId}` : ''}\n`);
        connectedOnce = true;
        lostSaid = false;
        delay = FIRST_RETRY_MS;
        if (flags.count === 0) {
          // Nothing to wait for: the subscription works, which is all --count 0 asks.
          settle({ kind: 'done' });
          req.destroy();
          return;
        }
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, end);
            buffer = buffer.slice(end + 1);
            if (line.trim() === '') continue;
            let entry: Entry;
            try {
              entry = JSON.parse(line) as Entry;
            } catch {
              continue;
            }
            if (show(line, entry)) {
              settle({ kind: 'done' });
              req.destroy();
              return;
            }
          }
        });
        res.on('close', () => settle(signal?.aborted ? { kind: 'done' } : { kind: 'ended' }));
      });
      req.end();
    });

  for (;;) {
    const result = await attempt();
    if (result.kind === 'done') return 0;
    if (result.kind === 'refused') {
      output.err(`${result.code}: ${terminalText(result.message)}\n`);
      if (result.code === 'UNAUTHORIZED') output.err('  pass --token or set PAGECALL_TOKEN\n');
      return 1;
    }
    if (!connectedOnce) {
      const reason = result.kind === 'unreachable' ? result.reason : 'the connection closed';
      output.err(`pagecall: cannot reach the bridge at ${base.origin} (${reason}); start one with \`pagecall serve\` or point --url at it\n`);
      return 1;
    }
    if (!lostSaid) {
      output.err(`pagecall: lost the stream from ${base.origin} (${result.kind === 'unreachable' ? result.reason : 'the bridge closed it'}); reconnecting\n`);
      lostSaid = true;
    }
    const stopped = await sleep(delay, signal);
    if (stopped) return 0;
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}

/** Waits `ms`; true when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    }, { once: true });
  });
}

const stdio: Output = { out: print, err: printError, tty: process.stdout.isTTY === true };

/** The `watch` command. */
export function watchCli(): Command {
  return addTokenOptions(new Command('watch'))
    .description('follow what pages publish to a topic (pagecall.emit, taps) and print it as it arrives')
    .argument('<group>', 'group the pages joined')
    .argument('<topic>', 'topic they publish to')
    .option('-u, --url <url>', 'bridge base URL [env PAGECALL_URL]', defaultBridgeUrl())
    .option('--json', 'print the stream as NDJSON: one JSON object a line, as the bridge sends it')
    .option('--client-id <id>', 'only what this page publishes')
    .option('--since <id>', 'start after this event id instead of now (0: everything the bridge still keeps)')
    .option('--count <n>', 'exit after this many events', parseWholeNumber)
    .addHelpText(
      'after',
      `
Each line: local time, the page's client id, the event's sequence number, then the value (strings
as they are, anything else as JSON; bytes stay {"$bytes": …}). Failures a tap's decode threw print
as "error Name: message"; "-- gap" lines say events are missing and why. Control and bidirectional
characters are escaped. If the connection drops, watch reconnects and resumes where it was; if the
bridge restarted in between, it says so: what was published meanwhile is lost.

Examples:
  pagecall watch room chat
  pagecall watch room frames --json | jq .value
  pagecall watch room chat --client-id x7d0q2m4p9aa --count 10`,
    )
    .action(async (group: string, topic: string, flags: WatchFlags) => {
      const ready = resolved(flags);
      if (ready) process.exitCode = await watchCommand(group, topic, ready, stdio);
    });
}
