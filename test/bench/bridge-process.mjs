// The bridge under benchmark, in its own process so that the load generator does not share its
// event loop and its memory is its own. Plain JavaScript on the built dist/ (what `pagecall serve`
// runs): a TypeScript loader would add about 30 MB to the RSS being measured.
//
// IPC from the bench: {type: 'memory', gc?} -> {type: 'memory', rss, heapUsed, inFlight}
//                     {type: 'clients', group} -> {type: 'clients', count}
// and {type: 'ready', port, key} once listening (key: the page key pages must send). argv[2], when
// given, is JSON of more bridge options (the cluster scenario passes {nats, node}).
import { pino } from 'pino';
import { startBridge } from '../../dist/bridge/index.js';

const reply = (message) => process.send?.(message);

// Each distinct warning once (the bench runs with --no-warnings): a warning per call would flood the table.
const warned = new Set();
process.on('warning', (warning) => {
  if (warned.has(warning.message)) return;
  warned.add(warning.message);
  process.stderr.write(`bench bridge: ${warning.name}: ${warning.message}\n`);
});

// Errors only: logging per call would be measured too.
const logger = pino({ level: 'error' }, { write: (line) => process.stderr.write(`bench bridge: ${line}`) });
// The bench's pages carry this key (bench.ts puts it in the environment of every process it starts).
const extra = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const bridge = await startBridge({ port: 0, logger, shutdownGraceMs: 0, pageKey: process.env.PAGECALL_BENCH_PAGE_KEY, ...extra });

process.on('message', (message) => {
  if (message.type === 'memory') {
    if (message.gc) globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    reply({ type: 'memory', rss, heapUsed, inFlight: bridge.pending.inFlight });
  } else if (message.type === 'clients') {
    reply({ type: 'clients', count: bridge.clients(message.group).length });
  }
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready', port: bridge.port, key: bridge.pageKey });
