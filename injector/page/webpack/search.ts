/**
 * One search over every bundle: first the exports of modules the app already ran (nothing runs;
 * modules whose factory source has the query's strings come first), then, only when asked with
 * `load`, the factories the app has not run whose source has all of those strings.
 */
import { logWarn, stringifyJson } from '../builtins.js';
import { withMode, type Bundle } from './bundle.js';
import type { Bundles } from './bundles.js';
import type { Plan, ResolvedOptions } from './query.js';
import type { WebpackMatch } from './types.js';
import { Walk } from './walk.js';

/** What a search looked at: for messages when nothing matched. */
export interface SearchReport {
  /** Per bundle: modules that had run, and ids not run whose source has the query's strings. */
  bundles: Array<{ chunkGlobal: string; ran: number; notRun: number; candidates: string[]; problem?: string }>;
}

const warned = new Set<string>();

function containsAll(text: string, parts: string[]): boolean {
  for (let i = 0; i < parts.length; i++) if (!text.includes(parts[i]!)) return false;
  return true;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(stringifyJson(error) ?? error);
}

/** Runs a plan over the bundles. `tried` holds `bundle:id` keys a load already ran and must not retry. */
export function search(bundles: Bundles, plan: Plan, options: ResolvedOptions, tried?: Set<string>): { matches: WebpackMatch[]; report: SearchReport } {
  const source = options.source.length > 0 ? [...plan.source, ...options.source] : plan.source;
  if (options.load && source.length === 0) {
    throw new TypeError('pagecall.webpack: load: true runs only factories whose source has given strings; with a bare predicate, pass options.source too');
  }
  bundles.scan();
  const report: SearchReport = { bundles: [] };
  const reachable: Bundle[] = [];
  for (const bundle of bundles.ordered()) {
    const problem = bundle.reachRequire() ? undefined : bundle.problem;
    const entry: SearchReport['bundles'][number] = { chunkGlobal: bundle.chunkGlobal, ran: 0, notRun: 0, candidates: [] };
    if (problem) entry.problem = problem;
    report.bundles.push(entry);
    if (!problem) reachable.push(bundle);
  }
  if (report.bundles.length === 0) {
    throw new Error(
      'pagecall.webpack: no webpack bundle found on this page (looked for webpackChunk* and webpackJsonp* arrays, and arrays of webpack chunks; name another with pagecall.webpack.use(name))',
    );
  }
  if (reachable.length === 0) {
    throw new Error(`pagecall.webpack: cannot reach webpack's require: ${report.bundles.map((b) => `${b.chunkGlobal}: ${b.problem}`).join('; ')}`);
  }

  const skip = (value: object): boolean => bundles.isBundleInternal(value);
  let walk = new Walk(plan.test, options.depth, options.all, skip);
  const candidates: Array<{ bundle: Bundle; id: string }> = [];
  const ranPass = (collect: boolean): void =>
    withMode('refuse', () => {
      for (let b = 0; b < reachable.length && !walk.done; b++) {
        const bundle = reachable[b]!;
        const entry = report.bundles.find((e) => e.chunkGlobal === bundle.chunkGlobal)!;
        bundle.wrapInstalled();
        const ids = bundle.moduleIds();
        // Modules whose code has the query's strings are the likely homes: look there first.
        const first: string[] = [];
        const rest: string[] = [];
        for (const id of ids) (source.length > 0 && containsAll(bundle.factorySource(id), source) ? first : rest).push(id);
        for (const list of [first, rest]) {
          for (let i = 0; i < list.length && !walk.done; i++) {
            const id = list[i]!;
            const state = bundle.state(id);
            if (state.ran) {
              if (collect) entry.ran++;
              walk.module(bundle.chunkGlobal, id, state.exports);
            } else if (collect) {
              entry.notRun++;
              if (list === first) {
                entry.candidates.push(id);
                candidates.push({ bundle, id });
              }
            }
          }
        }
      }
    });

  ranPass(true);
  if (walk.done || !options.load) return { matches: walk.matches, report };

  let loaded = false;
  for (const { bundle, id } of candidates) {
    const key = `${bundle.chunkGlobal}:${id}`;
    if (tried?.has(key)) continue;
    tried?.add(key);
    const outcome = bundle.load(id);
    if (!outcome.ok) {
      if (!warned.has(key)) {
        warned.add(key);
        logWarn(
          `pagecall.webpack: module ${id} of ${bundle.chunkGlobal} threw when run by {load: true} (${describeError(outcome.error)}); ` +
            'it was reset, so the page runs it afresh when it needs it',
        );
      }
      continue;
    }
    loaded = true;
    withMode('refuse', () => walk.module(bundle.chunkGlobal, id, outcome.exports));
    if (walk.done) return { matches: walk.matches, report };
  }
  // A module that ran may have filled objects other modules export (protobuf.js roots): look again.
  if (loaded) {
    walk = new Walk(plan.test, options.depth, options.all, skip);
    ranPass(false);
  }
  return { matches: walk.matches, report };
}

/** A sentence about what a search saw, for messages when nothing matched. */
export function describeReport(report: SearchReport, plan: Plan, options: ResolvedOptions): string {
  const parts: string[] = [];
  for (const b of report.bundles) {
    if (b.problem) {
      parts.push(`${b.chunkGlobal}: ${b.problem}`);
      continue;
    }
    let text = `${b.chunkGlobal}: ${b.ran} modules ran, ${b.notRun} not yet`;
    if (b.candidates.length > 0) {
      const ids = b.candidates.slice(0, 5).join(', ') + (b.candidates.length > 5 ? ', …' : '');
      text += options.load
        ? `; modules ${ids} have the query's strings in their code but did not give a match when run`
        : `; modules ${ids} have the query's strings in their code and have not run ({load: true} would run them)`;
    }
    parts.push(text);
  }
  return parts.length > 0 ? parts.join('; ') : `nothing searched for ${plan.describe}`;
}
