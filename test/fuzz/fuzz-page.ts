/**
 * A hostile page for the fuzzer: it connects, says hello (sometimes a broken one), sends random
 * frames until the bridge cuts it off or it leaves by itself, and reconnects. It answers the calls
 * it gets, honestly or not, so callers exercise results that race with garbage.
 */
import WebSocket from 'ws';
import type { Json } from '../../protocol/index.js';
import { helloFrame, randomFrame, randomJson, type Frame, type FrameContext } from './frames.js';
import type { Rng } from './prng.js';

/** Counts shared by every fuzz page. */
export interface FrameStats {
  /** Frames handed to the socket (hello frames included). */
  sent: number;
  byKind: Record<string, number>;
  connections: number;
  welcomes: number;
  /** Close codes the pages saw, by code. */
  closeCodes: Record<string, number>;
  /** BAD_FRAME (and other) error messages received from the bridge, by code. */
  errorsReceived: Record<string, number>;
  invokes: number;
}

/** Ids of invokes pages received, shared so pages can forge results for each other's calls. */
export class IdPool {
  private readonly ids: string[] = [];
  private next = 0;
  constructor(private readonly size = 256) {}
  add(id: string): void {
    if (this.ids.length < this.size) this.ids.push(id);
    else this.ids[this.next++ % this.size] = id;
  }
  get all(): readonly string[] {
    return this.ids;
  }
}

const PROBE = '{"type":"fuzz-probe"}';

/** Runs one fuzz page until `take()` says the frame budget is spent. */
export async function runFuzzPage(options: { bridgeUrl: string; group: string; rng: Rng; maxFrameBytes: number; stats: FrameStats; pool: IdPool; take: () => boolean }): Promise<void> {
  const { rng, stats, pool } = options;
  const wsUrl = `${options.bridgeUrl.replace(/^http/, 'ws')}/v1/ws`;
  let clientId: string | undefined;
  while (options.take()) {
    const ownIds: string[] = [];
    // Results are signed `by: clientId` only once this connection was welcomed, so a result
    // built before the welcome cannot carry a stale id (callers skip `by: 'unknown'`).
    const ctx: FrameContext = { group: options.group, clientId: undefined, previousId: clientId, ownIds, foreignIds: pool.all, maxFrameBytes: options.maxFrameBytes };
    const ws = new WebSocket(wsUrl, { maxPayload: 64 * 1024 * 1024 });
    stats.connections++;
    let probeAnswered: (() => void) | undefined;
    const closed = new Promise<void>((resolve) => {
      ws.on('close', (code) => {
        stats.closeCodes[code] = (stats.closeCodes[code] ?? 0) + 1;
        probeAnswered?.();
        resolve();
      });
    });
    ws.on('error', () => {});
    const send = (m: unknown): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };
    ws.on('message', (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return;
      }
      for (const m of (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, any>>) {
        switch (m.type) {
          case 'welcome':
            stats.welcomes++;
            clientId = m.clientId;
            ctx.clientId = clientId;
            break;
          case 'error':
            stats.errorsReceived[m.code] = (stats.errorsReceived[m.code] ?? 0) + 1;
            if (String(m.message).includes('fuzz-probe')) probeAnswered?.();
            break;
          case 'ping':
            if (rng.chance(0.9)) send({ type: 'pong', t: m.t });
            break;
          case 'invoke':
            stats.invokes++;
            ownIds.push(m.id);
            pool.add(m.id);
            answer(m as { id: string; args: Json[] });
            break;
        }
      }
    });
    const answer = (invoke: { id: string; args: Json[] }): void => {
      const nonce = invoke.args[0] ?? null;
      const roll = rng.int(100);
      if (roll < 60) send({ type: 'result', id: invoke.id, ok: true, value: { by: ctx.clientId ?? 'unknown', nonce } });
      else if (roll < 72) send({ type: 'result', id: invoke.id, ok: true, value: { by: ctx.clientId ?? 'unknown', junk: randomJson(rng) as Json } });
      else if (roll < 82) send({ type: 'result', id: invoke.id, ok: false, error: { name: 'Error', message: 'fuzzed failure', ...(rng.chance(0.3) ? { code: rng.pick(['ACTION_NOT_FOUND', 'RESULT_TOO_LARGE', 'NOT_A_CODE']) } : {}) } });
      // otherwise: never answered here (the call times out, or a later frame answers it)
    };

    const frame = async (f: Frame): Promise<boolean> => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      stats.byKind[f.kind] = (stats.byKind[f.kind] ?? 0) + 1;
      stats.sent++;
      // Waiting for each write keeps the sender from racing ahead of the bridge (no unbounded buffering).
      await new Promise<void>((resolve) => ws.send(f.data, { binary: f.binary }, () => resolve()));
      return true;
    };

    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    });
    if (opened) {
      await frame(helloFrame(ctx, rng));
      // The bridge answers frames in order, so once the probe is answered the welcome (if any) is in.
      const answered = new Promise<void>((resolve) => (probeAnswered = resolve));
      if (ws.readyState === WebSocket.OPEN) ws.send(PROBE);
      await answered;
      probeAnswered = undefined;
      const budget = rng.range(20, 400);
      for (let i = 0; i < budget && options.take(); i++) {
        if (!(await frame(randomFrame(ctx, rng)))) break;
      }
      if (rng.chance(0.5)) ws.terminate();
      else ws.close();
    }
    await closed;
    if (rng.chance(0.3)) clientId = undefined;
  }
}
