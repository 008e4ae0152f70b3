/**
 * `pagecall.webpack`: finders over the page's webpack bundles, waitFor(), use() and status().
 * Created once per realm, with the API; from then on it watches for bundles (see bundles.ts).
 */
import { clearTimer, freeze, setTimer } from '../builtins.js';
import { Bundles } from './bundles.js';
import { planFor, pick, resolveOptions, splitArgs, type Plan } from './query.js';
import { describeReport, search, type SearchReport } from './search.js';
import type { WebpackHelpers, WebpackMatch, WebpackStatus } from './types.js';

export type * from './types.js';

/** setTimeout fires at once for delays above 2^31-1 ms. */
const MAX_TIMER_MS = 2147483647;
const PromiseCtor = Promise;

interface Waiter {
  check(): void;
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error('pagecall.webpack.waitFor: aborted');
  error.name = 'AbortError';
  return error;
}

/** Builds the helpers and starts watching the page for bundles. */
export function createWebpackHelpers(): WebpackHelpers {
  const bundles = new Bundles();
  const waiters = new Set<Waiter>();
  bundles.onChange(() => {
    for (const waiter of [...waiters]) waiter.check();
  });

  const run = (query: unknown, options: unknown, caller: string): { matches: WebpackMatch[]; options: ReturnType<typeof resolveOptions> } => {
    const plan = planFor(query, caller);
    const resolved = resolveOptions(options, caller);
    return { matches: search(bundles, plan, resolved).matches, options: resolved };
  };
  const first = (query: unknown, options: unknown, caller: string): unknown => {
    const { matches, options: resolved } = run(query, options, caller);
    return pick(matches, resolved);
  };

  const helpers: WebpackHelpers = {
    require() {
      bundles.scan();
      for (const bundle of bundles.ordered()) {
        const req = bundle.reachRequire();
        if (req) return req;
      }
      return null;
    },
    find(query, options) {
      return run(query, options, 'find').matches;
    },
    findExport(name, options) {
      if (typeof name !== 'string' || name === '') throw new TypeError(`pagecall.webpack.findExport: the name must be a non-empty string, got ${name === null ? 'null' : typeof name}`);
      return first({ export: name }, options, 'findExport');
    },
    findByProps(...args) {
      const { strings, options } = splitArgs(args, 'findByProps', 'property name');
      return first({ props: strings }, options, 'findByProps');
    },
    findByCode(...args) {
      const { strings, options } = splitArgs(args, 'findByCode', 'code snippet');
      return first({ code: strings }, options, 'findByCode');
    },
    waitFor(query, options) {
      const plan: Plan = planFor(query, 'waitFor');
      const resolved = resolveOptions(options, 'waitFor');
      const { signal } = resolved;
      return new PromiseCtor<unknown>((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortReason(signal));
          return;
        }
        const tried = new Set<string>();
        let report: SearchReport | undefined;
        let lastError: unknown;
        let timer: number | undefined;
        let settled = false;
        const finish = (ok: boolean, value: unknown): void => {
          if (settled) return;
          settled = true;
          waiters.delete(waiter);
          bundles.setWaiting(waiters.size > 0);
          if (timer !== undefined) clearTimer(timer);
          signal?.removeEventListener('abort', onAbort);
          if (ok) resolve(value);
          else reject(value);
        };
        const onAbort = (): void => finish(false, abortReason(signal!));
        const waiter: Waiter = {
          check() {
            try {
              const outcome = search(bundles, plan, resolved, tried);
              report = outcome.report;
              lastError = undefined;
              if (outcome.matches.length > 0) finish(true, pick(outcome.matches, resolved));
            } catch (error) {
              // No bundle yet, or its runtime has not loaded: keep waiting, and say why on timeout.
              lastError = error;
            }
          },
        };
        waiters.add(waiter);
        bundles.setWaiting(true);
        signal?.addEventListener('abort', onAbort, { once: true });
        if (resolved.timeoutMs !== Infinity) {
          const ms = Math.min(resolved.timeoutMs, MAX_TIMER_MS);
          timer = setTimer(() => {
            const why = report ? describeReport(report, plan, resolved) : lastError instanceof Error ? lastError.message : 'no bundle searched';
            const error = new Error(`pagecall.webpack.waitFor: nothing matched ${plan.describe} within ${resolved.timeoutMs} ms (${why})`);
            error.name = 'TimeoutError';
            finish(false, error);
          }, ms);
        }
        waiter.check();
      });
    },
    use(chunkGlobal) {
      if (typeof chunkGlobal !== 'string' || chunkGlobal === '') {
        throw new TypeError(`pagecall.webpack.use: the chunk global must be a non-empty string like "webpackChunkapp", got ${chunkGlobal === null ? 'null' : typeof chunkGlobal}`);
      }
      bundles.use(chunkGlobal);
    },
    status(): WebpackStatus {
      bundles.scan();
      return {
        bundles: bundles.list.map((bundle) => {
          const entry: WebpackStatus['bundles'][number] = {
            chunkGlobal: bundle.chunkGlobal,
            found: bundle.found,
            capture: bundle.capture,
            require: bundle.require !== null,
            cache: bundle.require?.c !== undefined,
            ...bundle.counts(),
          };
          if (bundle.problem) entry.problem = bundle.problem;
          return entry;
        }),
        awaiting: bundles.awaitingNames(),
        waiting: waiters.size,
      };
    },
  };
  return freeze(helpers);
}
