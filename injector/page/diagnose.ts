/**
 * Why a connection attempt failed before the socket opened. The WebSocket error event carries no
 * detail, so this combines CSP violation events, a CORS fetch of the bridge's /health and the
 * Local Network Access permission state.
 */
import { SLOW_RETRY_MS } from './backoff.js';
import { addListener, apply, NativeAbortController, NativeURL, nativeFetch, pageUrl, queryPermission, setTimer, clearTimer } from './builtins.js';
import type { LastError } from './types.js';

const HEALTH_TIMEOUT_MS = 3000;
const KEPT_VIOLATIONS = 20;

/** A CSP violation report: what was blocked, by which directive. */
export interface Violation {
  uri: string;
  directive: string;
}

/** Where a bridge URL points, in the forms a diagnosis needs. */
export interface BridgeAddress {
  /** `ws://host:port` (or wss). */
  wsOrigin: string;
  /** `http://host:port` (or https). */
  httpOrigin: string;
  /** `http://host:port/health`. */
  health: string;
  /** Host name without IPv6 brackets. */
  host: string;
  /** The port, explicit or the scheme's default. */
  port: string;
  loopback: boolean;
}

function pageHostname(): string {
  try {
    return new NativeURL(pageUrl()).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function bridgeAddress(url: string): BridgeAddress | undefined {
  try {
    const parsed = new NativeURL(url);
    const secure = parsed.protocol === 'wss:';
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const httpOrigin = `${secure ? 'https' : 'http'}://${parsed.host}`;
    return {
      wsOrigin: `${secure ? 'wss' : 'ws'}://${parsed.host}`,
      httpOrigin,
      health: `${httpOrigin}/health`,
      host,
      port: parsed.port || (secure ? '443' : '80'),
      loopback: isLoopbackHost(host),
    };
  } catch {
    return undefined;
  }
}

function blocksBridge(violation: Violation, address: BridgeAddress): boolean {
  for (const origin of [address.wsOrigin, address.httpOrigin]) {
    if (violation.uri === origin || violation.uri.startsWith(`${origin}/`)) return true;
  }
  return false;
}

/** Records CSP violations from load on, so a failed connect can tell whether the page's policy blocked it. */
export class CspWatch {
  /** Called with each violation as it happens, so a block that is reported late is still noticed. */
  onViolation: ((violation: Violation) => void) | undefined;
  private readonly violations: Violation[] = [];

  /** Starts listening on `doc` (nothing to listen to in workers). */
  constructor(doc: Document | undefined) {
    if (!doc) return;
    apply(addListener, doc, [
      'securitypolicyviolation',
      (event: Event) => {
        const { blockedURI, effectiveDirective, violatedDirective } = event as SecurityPolicyViolationEvent;
        if (this.violations.length >= KEPT_VIOLATIONS) this.violations.shift();
        const violation = { uri: String(blockedURI), directive: String(effectiveDirective || violatedDirective) };
        this.violations.push(violation);
        this.onViolation?.(violation);
      },
    ]);
  }

  /** The latest violation that blocked the bridge's origin, in its ws or http form. */
  find(address: BridgeAddress): Violation | undefined {
    for (let i = this.violations.length - 1; i >= 0; i--) {
      const violation = this.violations[i]!;
      if (blocksBridge(violation, address)) return violation;
    }
    return undefined;
  }
}

/** The `csp` failure when `violation` blocked the bridge at `url`. */
export function cspFailure(url: string, violation: Violation): LastError | undefined {
  const address = bridgeAddress(url);
  return address && blocksBridge(violation, address) ? cspError(url, violation.directive) : undefined;
}

async function reachable(address: BridgeAddress): Promise<boolean> {
  if (!nativeFetch || !NativeAbortController) return false;
  const controller = new NativeAbortController();
  const timer = setTimer(() => controller.abort(), HEALTH_TIMEOUT_MS);
  // targetAddressSpace lets Chrome ask for the Local Network Access permission, which a
  // WebSocket alone often does not.
  const init = { mode: 'cors', cache: 'no-store', signal: controller.signal, ...(address.loopback ? { targetAddressSpace: 'loopback' } : {}) };
  try {
    await nativeFetch(address.health, init as RequestInit);
    return true;
  } catch {
    return false;
  } finally {
    clearTimer(timer);
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

async function localNetworkPermission(): Promise<PermissionStatus | undefined> {
  // A page served from loopback itself is not subject to Local Network Access.
  if (!queryPermission || isLoopbackHost(pageHostname())) return undefined;
  for (const name of ['loopback-network', 'local-network-access']) {
    try {
      return await queryPermission({ name } as unknown as PermissionDescriptor);
    } catch {
      // this browser does not know the name
    }
  }
  return undefined;
}

function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, 0));
}

/** Said once with each failure that retrying cannot fix, so the user knows the page has not given up. */
const SLOW_RETRY_NOTE = `Meanwhile pagecall tries again every ${SLOW_RETRY_MS / 2000}-${SLOW_RETRY_MS / 1000} s; pagecall.connect() tries at once.`;

function cspError(url: string, directive: string): LastError {
  return {
    reason: 'csp',
    message:
      `pagecall: this page's Content-Security-Policy (${directive}) blocks the bridge at ${url}; retrying cannot get past it. ` +
      `Ways through: open the page with pagecall's launcher (npx pagecall open ${pageUrl() || '<page url>'}), which bypasses CSP; ` +
      'or strip the Content-Security-Policy header with a browser extension, reload the page and load the injector again. ' +
      SLOW_RETRY_NOTE,
  };
}

function localNetworkError(url: string, permission: 'prompt' | 'denied'): LastError {
  if (permission === 'prompt') {
    return {
      reason: 'local-network-access',
      message:
        `pagecall: Chrome asks whether this page may reach your local network: answer the "Local network access" prompt with Allow so it can reach the bridge at ${url}; ` +
        `pagecall connects as soon as you do. ${SLOW_RETRY_NOTE}`,
    };
  }
  return {
    reason: 'local-network-access',
    message:
      `pagecall: Chrome's Local Network Access blocks this page from reaching the bridge at ${url}. ` +
      'Allow it via the site-information icon left of the address bar → Site settings → Local network access → Allow ' +
      '(pagecall connects as soon as it is allowed; plain-http public pages cannot be granted it at all); ' +
      'or start Chrome with --disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets; ' +
      `or open the page with npx pagecall open ${pageUrl() || '<page url>'}. ${SLOW_RETRY_NOTE}`,
  };
}

function notRunningError(url: string, address: BridgeAddress): LastError {
  const start = address.loopback
    ? `nothing listens on port ${address.port} of this machine. Start a bridge there: npx pagecall serve --port ${address.port}`
    : `nothing answers on ${address.host} port ${address.port}. Start a bridge there (npx pagecall serve --host <its address> --port ${address.port} --token <token>) or fix the URL`;
  return { reason: 'bridge-not-running', message: `pagecall: no bridge answers at ${url}: ${start}. pagecall keeps retrying.` };
}

/**
 * Works out why a WebSocket to `url` failed before it opened. Never rejects. When Local Network
 * Access blocks it, `granted` is called if the user allows it later.
 */
export async function diagnoseFailure(url: string, csp: CspWatch, closeCode: number | undefined, granted?: () => void): Promise<LastError> {
  const address = bridgeAddress(url);
  if (!address) return { reason: 'closed', message: `pagecall: ${url} is not a URL the browser can open` };
  let violation = csp.find(address);
  if (violation) return cspError(url, violation.directive);

  const answers = await reachable(address);
  // The fetch's own violation event is queued as a task; let it arrive before looking again.
  await nextTask();
  violation = csp.find(address);
  if (violation) return cspError(url, violation.directive);

  const permission = await localNetworkPermission();
  const state = permission?.state;
  if (permission && (state === 'prompt' || state === 'denied')) {
    // The status object is this call's own (not shared with the page), so setting its handler is safe.
    if (granted) {
      permission.onchange = () => {
        if (permission.state === 'granted') granted();
      };
    }
    return localNetworkError(url, state);
  }
  if (answers) {
    return {
      reason: 'closed',
      message:
        `pagecall: the bridge answers at ${address.health}, but the WebSocket to ${url} failed` +
        `${closeCode !== undefined ? ` (close code ${closeCode})` : ''}; check the bridge's log (it may not accept this page's origin).`,
    };
  }
  return notRunningError(url, address);
}
