/**
 * Test fixture: one place that closes what a test opened — bridges, fake pages, streams, anything
 * with close() — last opened first, when the test (or the file) ends, passed or failed. Replaces
 * try/finally and per-file cleanup lists.
 *
 *   test('...', async (t) => {
 *     const use = cleanupFor(t);
 *     const bridge = await use.bridge();
 *     const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers });
 */
import { after, type TestContext } from 'node:test';
import type { Bridge, StartOptions } from '../../bridge/index.js';
import { startTestBridge } from './bridge.js';
import { connectFakePage, type FakePage, type FakePageOptions } from './fake-page.js';
import { withTimeout } from './wait.js';

/** How long one fixture may take to close (a bridge drains its calls first). */
const CLOSE_MS = 30_000;

/** Anything a test opens and must close. */
export interface Closeable {
  close(): unknown;
}

/** Closes what it was given, in reverse order; every close gets a time limit and runs even if another failed. */
export class Cleanup {
  private readonly closers: Array<{ what: string; close: () => unknown }> = [];

  constructor(register: (run: () => Promise<void>) => void) {
    register(() => this.run());
  }

  /** Closes `thing` at the end; returns it. */
  add<T extends Closeable>(thing: T, what = 'a fixture'): T {
    this.closers.push({ what, close: () => thing.close() });
    return thing;
  }

  /** Runs `fn` at the end. */
  defer(fn: () => unknown, what = 'a cleanup step'): void {
    this.closers.push({ what, close: fn });
  }

  /** A test bridge on port 0, closed at the end. */
  async bridge(options: StartOptions = {}): Promise<Bridge> {
    return this.add(await startTestBridge(options), 'a bridge');
  }

  /** A scripted fake page, closed at the end. */
  async page(options: FakePageOptions): Promise<FakePage> {
    return this.add(await connectFakePage(options), `a fake page in ${options.group}`);
  }

  private async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const { what, close } of this.closers.splice(0).reverse()) {
      try {
        await withTimeout(Promise.resolve(close()), `${what} to close`, CLOSE_MS);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} fixtures failed to close`);
  }
}

/** Cleanup at the end of one test. */
export function cleanupFor(t: TestContext): Cleanup {
  return new Cleanup((run) => t.after(run));
}

/** Cleanup at the end of the file's tests (for fixtures shared by a file's tests). */
export function fileCleanup(): Cleanup {
  return new Cleanup((run) => after(run));
}
