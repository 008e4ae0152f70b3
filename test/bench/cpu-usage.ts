/**
 * CPU time per process from /proc (Linux): how a round's CPU divided between the load generator,
 * the server under test, Chromium and everything else on the machine. Elsewhere it reports nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by one process (user + system), or 0 when it cannot be read. */
function processSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Read and write system calls made so far by one process (all its threads), or 0. */
function processSyscalls(pid: number): number {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const count = (key: string): number => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return count('syscr') + count('syscw');
  } catch {
    return 0;
  }
}

/** The process and all its descendants. */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [root];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Busy CPU seconds of the whole machine so far (all cores). */
function machineSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds spent during a span, by role. */
export interface CpuSplit {
  loadGenerator: number;
  server: number;
  browser: number;
  other: number;
  wallSeconds: number;
  /** Read and write system calls the server made. */
  serverSyscalls: number;
}

/** Starts counting; `stop()` returns what each role used since. `browserPid` counts its whole process tree. */
export function startCpuCount(roles: { loadGenerator: number; server: number; browser: number | undefined }): { stop(): CpuSplit } {
  const browserPids = roles.browser !== undefined ? tree(roles.browser) : [];
  const sum = (pids: number[]): number => pids.reduce((s, pid) => s + processSeconds(pid), 0);
  const start = { syscalls: processSyscalls(roles.server), gen: processSeconds(roles.loadGenerator), server: processSeconds(roles.server), browser: sum(browserPids), machine: machineSeconds(), at: performance.now() };
  return {
    stop() {
      const gen = processSeconds(roles.loadGenerator) - start.gen;
      const server = processSeconds(roles.server) - start.server;
      const browser = sum(browserPids) - start.browser;
      const machine = machineSeconds() - start.machine;
      const serverSyscalls = processSyscalls(roles.server) - start.syscalls;
      return { loadGenerator: gen, server, browser, other: Math.max(0, machine - gen - server - browser), wallSeconds: (performance.now() - start.at) / 1000, serverSyscalls };
    },
  };
}
