/** Telling whether a pagecall bridge already answers at an address (by its public GET /health). */

/** What a pagecall bridge's /health says about it. */
export interface BridgeHealth {
  name: 'pagecall';
  version: string;
  protocol: number;
  tokenRequired: boolean;
}

/** What answers at an address: a pagecall bridge, something else, or nothing. */
export type ProbeResult = { kind: 'pagecall'; url: string; health: BridgeHealth } | { kind: 'other'; url: string; detail: string } | { kind: 'none'; url: string };

/** Asks `bridgeUrl`/health; a pagecall bridge answers `{ok: true, name: 'pagecall', …}`. */
export async function probeBridge(bridgeUrl: string, timeoutMs = 3_000): Promise<ProbeResult> {
  const url = new URL('/health', bridgeUrl);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const code = (error as Error & { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return { kind: 'none', url: bridgeUrl };
    return { kind: 'other', url: bridgeUrl, detail: (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(code ?? (error as Error).message) };
  }
  const body = (await res.json().catch(() => undefined)) as Partial<BridgeHealth> & { ok?: unknown } | undefined;
  if (body?.ok === true && body.name === 'pagecall') {
    return { kind: 'pagecall', url: bridgeUrl, health: { name: 'pagecall', version: String(body.version ?? '?'), protocol: Number(body.protocol ?? 0), tokenRequired: body.tokenRequired === true } };
  }
  return { kind: 'other', url: bridgeUrl, detail: `GET /health answered HTTP ${res.status} without naming pagecall` };
}
