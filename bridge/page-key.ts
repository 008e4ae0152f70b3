/**
 * The page key: the secret a page shows in its hello to prove that the user put it there. It is
 * generated on first start and kept in the user's config directory (file mode 0600, directory
 * 0700), so it survives restarts and userscripts keep working. Group keys and resume secrets are
 * derived from it with HMAC, so nothing else is stored and both survive restarts too.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from './config.js';

/** Name of the page key file in the config directory. */
export const PAGE_KEY_FILE = 'page-key';

/** Shortest page key accepted from a file, an option or the environment. */
export const MIN_PAGE_KEY_LENGTH = 16;

/** Separates a group key's group from its MAC; not a character group names may hold. */
const GROUP_KEY_SEPARATOR = '~';

/**
 * The directory pagecall keeps its files in: $PAGECALL_CONFIG_DIR, else %APPDATA%\pagecall on
 * Windows, else $XDG_CONFIG_HOME/pagecall, else ~/.config/pagecall.
 */
export function configDir(env: Record<string, string | undefined> = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.PAGECALL_CONFIG_DIR) return env.PAGECALL_CONFIG_DIR;
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'pagecall');
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'pagecall');
  return join(homedir(), '.config', 'pagecall');
}

/** Where the page key came from. */
export type PageKeySource = 'option' | 'environment' | 'file' | 'created';

/** A resolved page key and where it came from. */
export interface ResolvedPageKey {
  key: string;
  source: PageKeySource;
  /** The file it was read from or written to. */
  file?: string;
  /** Things the user should fix (a key file other users can read), for the log. */
  warnings: string[];
}

/** How to find the page key; the first that is set wins, in this order. */
export interface PageKeyLookup {
  /** The key itself (Node option `pageKey`). */
  pageKey?: string | undefined;
  /** A file holding it (`--page-key-file`, PAGECALL_PAGE_KEY_FILE). */
  pageKeyFile?: string | undefined;
  /** Environment holding PAGECALL_PAGE_KEY (the CLI passes its own; the Node API passes none). */
  env?: Record<string, string | undefined>;
  /** Environment the default location is worked out from (default: the process's). */
  locationEnv?: Record<string, string | undefined>;
}

/**
 * Finds the page key: the `pageKey` option, else the `pageKeyFile`, else PAGECALL_PAGE_KEY, else
 * the file in the config directory, which is created with a new random key when it is missing.
 * Throws a ConfigError naming the file or variable when a key is unusable.
 */
export function resolvePageKey(lookup: PageKeyLookup = {}): ResolvedPageKey {
  if (lookup.pageKey !== undefined) return { key: checkKey(lookup.pageKey, 'pageKey'), source: 'option', warnings: [] };
  if (lookup.pageKeyFile !== undefined) return readKeyFile(lookup.pageKeyFile);
  const fromEnv = lookup.env?.PAGECALL_PAGE_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return { key: checkKey(fromEnv.trim(), 'PAGECALL_PAGE_KEY'), source: 'environment', warnings: [] };
  const file = join(configDir(lookup.locationEnv ?? process.env), PAGE_KEY_FILE);
  try {
    return readKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return createKeyFile(file);
}

/** A new random page key (256 bits, base64url). */
export function newPageKey(): string {
  return randomBytes(32).toString('base64url');
}

function checkKey(key: string, where: string): string {
  if (key.length < MIN_PAGE_KEY_LENGTH || /\s/.test(key)) {
    throw new ConfigError(`${where}: a page key must be at least ${MIN_PAGE_KEY_LENGTH} characters without spaces`);
  }
  return key;
}

function readKeyFile(file: string): ResolvedPageKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw Object.assign(new ConfigError(`page key file ${file} does not exist`), { code: 'ENOENT' });
    throw new ConfigError(`cannot read the page key file ${file}: ${e.code ?? e.message}`);
  }
  const warnings: string[] = [];
  if (process.platform !== 'win32') {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) warnings.push(`the page key file ${file} can be read by other users (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  }
  return { key: checkKey(text.trim(), `page key file ${file}`), source: 'file', file, warnings };
}

/**
 * Writes a new key to `file` without ever leaving a partial file where another process could read
 * it: the key goes to a private temporary file that is then linked into place, which fails if a
 * concurrent start got there first (its key is used then).
 */
function createKeyFile(file: string): ResolvedPageKey {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(`cannot create ${dir} for the page key: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; set PAGECALL_CONFIG_DIR or --page-key-file`);
  }
  const key = newPageKey();
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${key}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file);
      // A file system without hard links: an exclusive create is the next best thing.
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file);
    throw new ConfigError(`cannot write the page key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  return { key, source: 'created', file, warnings: [] };
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Constant-time string comparison (hashing first makes the lengths equal). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** What a key in a hello proves. */
export type KeyCheck =
  | { ok: true; scope: 'page' | 'group' }
  | { ok: false; reason: 'missing' | 'wrong' }
  | { ok: false; reason: 'other-group'; group: string };

/**
 * The secrets derived from one page key: group keys (a key that admits one group only) and resume
 * secrets (proof that a page was given its client id). Stateless, so they survive restarts.
 */
export class PageKeys {
  private readonly groupSecret: Buffer;
  private readonly resumeSecret: Buffer;

  constructor(private readonly pageKey: string) {
    // Separate keys per use, so a resume secret can never pass as a group key or the other way round.
    this.groupSecret = createHmac('sha256', pageKey).update('pagecall group key v1').digest();
    this.resumeSecret = createHmac('sha256', pageKey).update('pagecall resume v1').digest();
  }

  /** The key that admits pages to `group` only: `group~MAC`. */
  groupKey(group: string): string {
    return `${group}${GROUP_KEY_SEPARATOR}${this.groupMac(group)}`;
  }

  /** Whether `key` admits a page to `group`: the page key, or the group key of `group`. */
  check(key: string | undefined, group: string): KeyCheck {
    if (key === undefined || key === '') return { ok: false, reason: 'missing' };
    if (sameSecret(key, this.pageKey)) return { ok: true, scope: 'page' };
    const at = key.lastIndexOf(GROUP_KEY_SEPARATOR);
    if (at <= 0) return { ok: false, reason: 'wrong' };
    const claimed = key.slice(0, at);
    if (!sameSecret(key.slice(at + 1), this.groupMac(claimed))) return { ok: false, reason: 'wrong' };
    return claimed === group ? { ok: true, scope: 'group' } : { ok: false, reason: 'other-group', group: claimed };
  }

  /** The resume secret of a client id: a page that shows it may take the id over. */
  resumeFor(clientId: string): string {
    return createHmac('sha256', this.resumeSecret).update(clientId).digest('base64url').slice(0, 22);
  }

  /** Whether `resume` is the resume secret of `clientId`. */
  resumes(clientId: string, resume: string | undefined): boolean {
    return resume !== undefined && sameSecret(resume, this.resumeFor(clientId));
  }

  private groupMac(group: string): string {
    return createHmac('sha256', this.groupSecret).update(group).digest('base64url');
  }
}
