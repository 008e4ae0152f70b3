/**
 * The bridge under soak, run as a child process so its memory is its own: started with
 * --expose-gc, it answers `stats` requests over IPC with its memory after a full GC and what its
 * pending-call table and registry still hold.
 */
import { pino } from 'pino';
import { startBridge } from '../../bridge/index.js';
import { TEST_PAGE_KEY } from '../helpers/bridge.js';
import { internals, leftovers } from '../helpers/internals.js';

/** Sent by the parent. */
export type SoakRequest = { type: 'stats' } | { type: 'close' };

/** Sent back. */
export type SoakReply =
  | { type: 'ready'; port: number }
  | { type: 'stats'; memory: NodeJS.MemoryUsage; leftovers: ReturnType<typeof leftovers>; counters: Record<string, number>; errorsLogged: number; gc: boolean }
  | { type: 'closed' };

const reply = (message: SoakReply): void => {
  process.send?.(message);
};

let errorsLogged = 0;
const logger = pino({ level: 'error' }, {
  write: (line: string) => {
    errorsLogged++;
    process.stderr.write(`soak bridge: ${line}`);
  },
});
const bridge = await startBridge({ port: 0, logger, shutdownGraceMs: 0, pageKey: TEST_PAGE_KEY });
const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: SoakRequest) => {
  if (message.type === 'stats') {
    // Two passes: the first can leave garbage that only a second one collects (weak refs, finalizers).
    gc?.();
    gc?.();
    reply({ type: 'stats', memory: process.memoryUsage(), leftovers: leftovers(bridge), counters: { ...internals(bridge).hub.counters }, errorsLogged, gc: gc !== undefined });
  } else if (message.type === 'close') {
    void bridge.close(0).then(() => {
      reply({ type: 'closed' });
      process.disconnect();
    });
  }
});
// The parent going away (killed, crashed) must not leave the bridge running.
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready', port: bridge.port });
