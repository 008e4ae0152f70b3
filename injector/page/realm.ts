/**
 * Which realm this is (a tab's top document, a child frame, a dedicated worker) and whether it
 * joins. Launchers, attach() and userscripts put the injector into every frame and worker they
 * can reach; each realm decides here, before anything else of pagecall runs in it, whether it
 * joins. A realm that does not join runs nothing more: it never sees the key or the hooks.
 */
import type { ClientContext } from '../../protocol/messages.js';

/** Which realms join besides top documents: none (`top`), every frame (`all`), or frames whose URL matches. */
export type FrameRule = { frames: 'top' } | { frames: 'all' } | { frames: 'match'; source: string; flags: string };

/** The realm's own view of itself: its kind and its URL. */
export interface Realm {
  context: ClientContext;
  url: string;
}

/** The decision for a realm, with why when it does not join. */
export interface RealmDecision extends Realm {
  join: boolean;
  /** Why the realm stays out (absent when it joins). */
  reason?: string;
}

/**
 * Documents that are never a site's page: a tab's first `about:blank`, `about:srcdoc` frames,
 * `data:` documents, error pages (`chrome-error://chromewebdata/`), browser pages. Workers may
 * run from `blob:` URLs (decoders often do); documents from `blob:` are left out like `data:`.
 */
const NEVER_DOCUMENTS = /^(?:about|data|blob|javascript|chrome|chrome-error|chrome-extension|chrome-untrusted|devtools|edge|view-source):/i;
const NEVER_WORKERS = /^(?:about|data|javascript|chrome|chrome-error|chrome-extension|chrome-untrusted|devtools|edge):/i;

/** The globals the check reads (tests pass stand-ins). */
type RealmGlobal = { WorkerGlobalScope?: unknown; top?: unknown; location?: { href?: unknown } };

/** The realm's kind: `worker` in a worker scope, `top` in a tab's top document, else `frame`. */
export function realmContext(g: RealmGlobal = globalThis as unknown as RealmGlobal): ClientContext {
  if (typeof g.WorkerGlobalScope === 'function' && g instanceof (g.WorkerGlobalScope as new () => unknown)) return 'worker';
  try {
    // `top` is unforgeable on Window; a cross-origin parent still compares by identity.
    return g.top === g ? 'top' : 'frame';
  } catch {
    return 'frame';
  }
}

/** The realm's URL (`location.href` of the document or worker), or '' where there is none. */
export function realmUrl(g: RealmGlobal = globalThis as unknown as RealmGlobal): string {
  try {
    return String(g.location?.href ?? '');
  } catch {
    return '';
  }
}

/** Whether a realm of `context` at `url` joins under `rule`. */
export function decide(rule: FrameRule, realm: Realm): RealmDecision {
  const { context, url } = realm;
  const out = (reason: string): RealmDecision => ({ context, url, join: false, reason });
  if (context === 'worker') {
    return NEVER_WORKERS.test(url) || url === '' ? out(`a worker at ${url || 'no URL'} never joins`) : { context, url, join: true };
  }
  if (url === '' || NEVER_DOCUMENTS.test(url)) return out(`${url || 'a document without a URL'} never joins`);
  if (context === 'top' || rule.frames === 'all') return { context, url, join: true };
  if (rule.frames === 'match') {
    let matches = false;
    try {
      matches = new RegExp(rule.source, rule.flags).test(url);
    } catch {
      matches = false;
    }
    return matches ? { context, url, join: true } : out(`frame ${url} does not match the frame rule`);
  }
  return out('only top documents join (frames: top)');
}

/** The decision for the realm this code runs in. */
export function decideHere(rule: FrameRule): RealmDecision {
  return decide(rule, { context: realmContext(), url: realmUrl() });
}
