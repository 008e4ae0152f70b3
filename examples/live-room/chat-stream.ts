/**
 * The live-room chat, streamed: subscribes to the topic the page publishes its decoded chat to
 * (hooks.js taps the page's own socket to the room) and prints each line as it arrives. The scraper
 * never connects to the site: the page already receives and decodes every frame.
 *
 *   node --import tsx examples/live-room/chat-stream.ts [--bridge http://127.0.0.1:12180] [--count 20]
 */
import { parseArgs } from 'node:util';
import { connect } from '../../clients/node/index.js';

/** A chat line as the page publishes it. */
export interface ChatLine {
  seq: string;
  user: string;
  text: string;
  sentAtMs: string;
}

/** One line of readable output. */
export function describeChat(line: ChatLine): string {
  return `#${line.seq} ${line.user}: ${line.text}`;
}

/** Reads `count` chat lines from the stream (live, from now) and returns them. */
export async function streamChat(options: { bridgeUrl: string; group?: string; count?: number; token?: string; onLine?: (line: ChatLine) => void }): Promise<ChatLine[]> {
  const client = connect({ url: options.bridgeUrl, ...(options.token ? { token: options.token } : {}) });
  const lines: ChatLine[] = [];
  try {
    for await (const entry of client.stream(options.group ?? 'live-room', 'chat')) {
      if (entry.type === 'gap') process.stderr.write(`(${entry.message})\n`);
      if (entry.type === 'error') process.stderr.write(`(the page could not decode a frame: ${entry.error.name}: ${entry.error.message})\n`);
      if (entry.type !== 'event') continue;
      const line = entry.value as ChatLine;
      lines.push(line);
      options.onLine?.(line);
      if (lines.length === (options.count ?? 20)) break;
    }
  } finally {
    client.close();
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { bridge: { type: 'string', default: 'http://127.0.0.1:12180' }, group: { type: 'string', default: 'live-room' }, count: { type: 'string', default: '20' } } });
  await streamChat({ bridgeUrl: values.bridge!, group: values.group!, count: Number(values.count), onLine: (line) => console.log(describeChat(line)), ...(process.env.PAGECALL_TOKEN ? { token: process.env.PAGECALL_TOKEN } : {}) });
}
