/**
 * Bridge configuration, resolved once: defaults, then PAGECALL_* environment variables, then
 * explicit options (CLI flags). The result is validated and frozen.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Hosts that only this machine can reach. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const MiB = 1024 * 1024;

/** A cluster node's name (`--node`). */
export const NODE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
/** The NATS subject prefix of a cluster (`--nats-prefix`): plain tokens joined by dots. */
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,32}(\.[A-Za-z0-9_-]{1,32}){0,3}$/;

const schema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  token: z.string().min(16, 'token: must be at least 16 characters').optional(),
  tokenFile: z.string().min(1).optional(),
  pageKeyFile: z.string().min(1).optional(),
  openPages: z.boolean(),
  timeoutMs: z.number().int().min(1).max(3_600_000),
  maxTimeoutMs: z.number().int().min(1).max(3_600_000),
  heartbeatMs: z.number().int().min(50).max(600_000),
  helloTimeoutMs: z.number().int().min(50).max(600_000),
  maxBodyBytes: z.number().int().min(1024),
  maxFrameBytes: z.number().int().min(1024),
  maxBatch: z.number().int().min(1),
  maxClients: z.number().int().min(1),
  maxHandshakesPerOrigin: z.number().int().min(1),
  maxOpenPagesPerOrigin: z.number().int().min(1),
  maxActionsPerClient: z.number().int().min(1),
  maxInFlightPerClient: z.number().int().min(1),
  queueTimeoutMs: z.number().int().min(0),
  maxQueued: z.number().int().min(0),
  balance: z.enum(['least-in-flight', 'round-robin']),
  allowEval: z.boolean(),
  allowOrigins: z.array(z.string()),
  allowHosts: z.array(z.string()),
  shutdownGraceMs: z.number().int().min(0),
  headersTimeoutMs: z.number().int().min(1_000).max(600_000),
  requestTimeoutMs: z.number().int().min(1_000).max(3_600_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  logFormat: z.enum(['auto', 'pretty', 'json']),
  debugCapture: z.boolean(),
  nats: z.array(z.string()),
  node: z.string().regex(NODE_PATTERN, 'node: letters, digits, _ . : -, at most 64 characters').optional(),
  natsPrefix: z.string().regex(PREFIX_PATTERN, 'natsPrefix: subject tokens of letters, digits, _ and -, joined by dots'),
  natsToken: z.string().min(1).optional(),
  natsUser: z.string().min(1).optional(),
  natsPass: z.string().min(1).optional(),
  natsNkey: z.string().min(1).optional(),
  natsCreds: z.string().min(1).optional(),
  natsTls: z.boolean(),
  natsTlsCa: z.string().min(1).optional(),
  natsTlsCert: z.string().min(1).optional(),
  natsTlsKey: z.string().min(1).optional(),
  clusterHeartbeatMs: z.number().int().min(100).max(60_000),
  streamHistory: z.number().int().min(1).max(1_000_000),
  streamSubscriberBytes: z.number().int().min(1024),
  streamSlowPolicy: z.enum(['drop', 'disconnect']),
});

/** The resolved, frozen configuration. */
export type BridgeConfig = Readonly<z.infer<typeof schema>>;

/** What callers may pass: any subset of the configuration. */
export type BridgeOptions = Partial<z.infer<typeof schema>>;

/** The group pages join and commands use when none is named. */
export const DEFAULT_GROUP = 'default';

/** Defaults: loopback only, pages need the page key, 30 s deadline, no token, eval off. */
export const DEFAULTS: BridgeConfig = Object.freeze({
  host: '127.0.0.1',
  port: 12180,
  timeoutMs: 30_000,
  maxTimeoutMs: 600_000,
  heartbeatMs: 5_000,
  helloTimeoutMs: 10_000,
  maxBodyBytes: 16 * MiB,
  maxFrameBytes: 32 * MiB,
  maxBatch: 10_000,
  maxClients: 5_000,
  maxHandshakesPerOrigin: 8,
  maxOpenPagesPerOrigin: 8,
  maxActionsPerClient: 1_000,
  maxInFlightPerClient: 4_096,
  queueTimeoutMs: 5_000,
  maxQueued: 100_000,
  balance: 'least-in-flight',
  openPages: false,
  allowEval: false,
  allowOrigins: [],
  allowHosts: [],
  shutdownGraceMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  logLevel: 'info',
  logFormat: 'auto',
  debugCapture: false,
  nats: [],
  natsPrefix: 'pagecall',
  natsTls: false,
  clusterHeartbeatMs: 1_000,
  streamHistory: 10_000,
  streamSubscriberBytes: 1 * MiB,
  streamSlowPolicy: 'drop',
});

type Kind = 'string' | 'int' | 'bool' | 'list';

/** Every option, its environment variable's kind and its one-line help (used by --help and docs). */
export const OPTION_DOCS: Record<keyof BridgeConfig, { kind: Kind; help: string }> = {
  host: { kind: 'string', help: 'interface to listen on; anything but loopback requires a token' },
  port: { kind: 'int', help: 'TCP port (0 picks a free one)' },
  token: { kind: 'string', help: 'shared secret for callers (Authorization: Bearer <token>); at least 16 characters. On a command line other users can read it: prefer --token-file or PAGECALL_TOKEN' },
  tokenFile: { kind: 'string', help: 'file holding the token (first line)' },
  pageKeyFile: { kind: 'string', help: 'file holding the page key that admits pages (default: page-key in $PAGECALL_CONFIG_DIR, else ~/.config/pagecall, made on first start); or the key itself in PAGECALL_PAGE_KEY' },
  openPages: { kind: 'bool', help: 'admit pages without the page key: any website open in your browser can join a group (unsafe; the old behaviour; JsRpc pages: the old /ws URL without &key=)' },
  timeoutMs: { kind: 'int', help: 'default call deadline in ms' },
  maxTimeoutMs: { kind: 'int', help: 'largest timeoutMs a caller may ask for' },
  heartbeatMs: { kind: 'int', help: 'ping interval; a page silent for 3 intervals is dropped' },
  helloTimeoutMs: { kind: 'int', help: 'how long a new page socket may take to say hello' },
  maxBodyBytes: { kind: 'int', help: 'largest HTTP request body' },
  maxFrameBytes: { kind: 'int', help: 'largest WebSocket frame from a page' },
  maxBatch: { kind: 'int', help: 'most calls in one /v1/batch request' },
  maxClients: { kind: 'int', help: 'most pages connected at once' },
  maxHandshakesPerOrigin: { kind: 'int', help: 'most page sockets not yet admitted from one origin (and from one remote address beyond loopback); more wait their turn' },
  maxOpenPagesPerOrigin: { kind: 'int', help: 'with --open-pages, most pages admitted without a key from one origin (and from one remote address beyond loopback)' },
  maxActionsPerClient: { kind: 'int', help: 'most functions one page may register' },
  maxInFlightPerClient: { kind: 'int', help: 'most calls running in one page at once; more wait in a queue' },
  queueTimeoutMs: { kind: 'int', help: 'how long a call waits for a free page before OVERLOADED' },
  maxQueued: { kind: 'int', help: 'most calls waiting for a free page, per group' },
  balance: { kind: 'string', help: 'how calls spread over pages: least-in-flight or round-robin' },
  allowEval: { kind: 'bool', help: 'enable POST /v1/eval (runs code strings in pages)' },
  allowOrigins: { kind: 'list', help: 'comma-separated page origins allowed to connect (default: any)' },
  allowHosts: { kind: 'list', help: 'extra Host header names accepted on loopback (DNS-rebinding guard)' },
  shutdownGraceMs: { kind: 'int', help: 'on SIGINT/SIGTERM, how long in-flight calls may finish' },
  headersTimeoutMs: { kind: 'int', help: 'how long an HTTP client may take to send its request headers' },
  requestTimeoutMs: { kind: 'int', help: 'how long an HTTP client may take to send a whole request (headers and body; not the wait for its answer)' },
  logLevel: { kind: 'string', help: 'trace, debug, info, warn, error, fatal or silent' },
  logFormat: { kind: 'string', help: 'auto (pretty on a terminal), pretty or json' },
  debugCapture: { kind: 'bool', help: 'include call arguments and results in logs and the dashboard' },
  nats: { kind: 'list', help: 'join a cluster over NATS: comma-separated server URLs (nats://host:4222); see docs/cluster.md' },
  node: { kind: 'string', help: "this node's name in the cluster (default: the host name)" },
  natsPrefix: { kind: 'string', help: 'subject prefix of the cluster; nodes with another prefix on the same NATS are another cluster' },
  natsToken: { kind: 'string', help: 'NATS token authentication' },
  natsUser: { kind: 'string', help: 'NATS user (with --nats-pass)' },
  natsPass: { kind: 'string', help: 'NATS password (with --nats-user)' },
  natsNkey: { kind: 'string', help: 'file holding a NATS nkey seed (SU...)' },
  natsCreds: { kind: 'string', help: 'NATS credentials file (JWT and nkey seed, as nsc writes it)' },
  natsTls: { kind: 'bool', help: 'require TLS to NATS (implied by the other --nats-tls-* options and tls:// URLs)' },
  natsTlsCa: { kind: 'string', help: "file with the CA certificate(s) that signed the NATS server's certificate" },
  natsTlsCert: { kind: 'string', help: 'client certificate file for NATS TLS (with --nats-tls-key)' },
  natsTlsKey: { kind: 'string', help: 'client key file for NATS TLS (with --nats-tls-cert)' },
  clusterHeartbeatMs: { kind: 'int', help: 'how often a node announces itself; one silent for 3 intervals is taken for dead and its calls fail over' },
  streamHistory: { kind: 'int', help: 'entries each stream topic keeps for subscribers that resume (Last-Event-ID) or fall behind' },
  streamSubscriberBytes: { kind: 'int', help: 'bytes a stream subscriber may leave unread before it counts as slow' },
  streamSlowPolicy: { kind: 'string', help: 'a slow subscriber that falls behind the history: drop (it gets a gap marker) or disconnect' },
};

/** Options that hold secrets: never logged, never shown in the startup line. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'natsToken', 'natsPass']);

/** Cluster options that mean nothing without --nats. */
const CLUSTER_ONLY_KEYS = ['node', 'natsToken', 'natsUser', 'natsPass', 'natsNkey', 'natsCreds', 'natsTlsCa', 'natsTlsCert', 'natsTlsKey'] as const;

/** `maxBodyBytes` → `PAGECALL_MAX_BODY_BYTES`. */
export function envName(key: string): string {
  return `PAGECALL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Raised for configuration that cannot be used; the message says exactly what to change. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function parseEnvValue(key: string, kind: Kind, raw: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${envName(key)}: expected a whole number, got ${JSON.stringify(raw)}`);
      return Number(raw);
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(`${envName(key)}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

/** Reads PAGECALL_* variables into options. */
export function optionsFromEnv(env: Record<string, string | undefined>): BridgeOptions {
  const out: Record<string, unknown> = {};
  for (const [key, { kind }] of Object.entries(OPTION_DOCS)) {
    const raw = env[envName(key)];
    if (raw !== undefined) out[key] = parseEnvValue(key, kind, raw);
  }
  return out as BridgeOptions;
}

/** True when `host` can only be reached from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads a secret from the first line of a file; the message names the file and the option. */
export function readSecretFile(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}

/** The token a set of options gives: its own, else the one in its token file. */
function tokenOf(options: BridgeOptions, option: string): string | undefined {
  if (options.token !== undefined) return options.token;
  return options.tokenFile !== undefined ? readSecretFile(options.tokenFile, option) : undefined;
}

/**
 * Merges defaults, environment and options; validates; freezes. The token comes from the options
 * (`token`, else `tokenFile`), else from the environment (PAGECALL_TOKEN, else PAGECALL_TOKEN_FILE).
 */
export function resolveConfig(options: BridgeOptions = {}, env: Record<string, string | undefined> = {}): BridgeConfig {
  const fromEnv = optionsFromEnv(env);
  const merged: Record<string, unknown> = { ...DEFAULTS, ...fromEnv };
  const given: BridgeOptions = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (given as Record<string, unknown>)[key] = value;
  Object.assign(merged, given);
  const token = tokenOf(given, 'tokenFile') ?? tokenOf(fromEnv, envName('tokenFile'));
  if (token !== undefined) merged.token = token;
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.');
    const message = issue.message.startsWith(`${key}:`) ? issue.message : `${key}: ${issue.message}`;
    throw new ConfigError(`invalid configuration: ${message}`);
  }
  const config = parsed.data;
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(`invalid configuration: headersTimeoutMs (${config.headersTimeoutMs}) is larger than requestTimeoutMs (${config.requestTimeoutMs})`);
  }
  if (config.timeoutMs > config.maxTimeoutMs) {
    throw new ConfigError(`invalid configuration: timeoutMs (${config.timeoutMs}) is larger than maxTimeoutMs (${config.maxTimeoutMs})`);
  }
  checkCluster(config);
  if (config.nats.length > 0 && config.node === undefined) config.node = defaultNodeName();
  if (!isLoopback(config.host) && !config.token) {
    throw new ConfigError(
      `refusing to listen on ${config.host} without a token: anyone who can reach it could run code in your logged-in pages. ` +
        `Set --token (or PAGECALL_TOKEN) to a secret of at least 16 characters, or listen on 127.0.0.1.`,
    );
  }
  return Object.freeze({ ...config, allowOrigins: Object.freeze([...config.allowOrigins]), allowHosts: Object.freeze([...config.allowHosts]), nats: Object.freeze([...config.nats]) }) as BridgeConfig;
}

/** Checks the cluster options together: each needs --nats, and at most one way to authenticate. */
function checkCluster(config: z.infer<typeof schema>): void {
  const fail = (message: string): never => {
    throw new ConfigError(`invalid configuration: ${message}`);
  };
  for (const url of config.nats) {
    const problem = natsUrlProblem(url);
    if (problem) fail(`nats: ${problem}`);
  }
  if (config.nats.length === 0) {
    const set = CLUSTER_ONLY_KEYS.find((key) => config[key] !== undefined) ?? (config.natsTls ? 'natsTls' : undefined);
    if (set) fail(`${set}: only used in a cluster; add --nats <url> (or PAGECALL_NATS) to join one`);
    return;
  }
  if ((config.natsUser === undefined) !== (config.natsPass === undefined)) fail('natsUser and natsPass: give both or neither');
  const ways = [config.natsToken && '--nats-token', config.natsUser && '--nats-user/--nats-pass', config.natsNkey && '--nats-nkey', config.natsCreds && '--nats-creds'].filter(Boolean);
  if (ways.length > 1) fail(`NATS authentication: choose one of ${ways.join(', ')}`);
  if ((config.natsTlsCert === undefined) !== (config.natsTlsKey === undefined)) fail('natsTlsCert and natsTlsKey: give both or neither');
}

/** Why a --nats entry cannot be a NATS server address, or undefined when it can. */
export function natsUrlProblem(url: string): string | undefined {
  const withScheme = url.includes('://') ? url : `nats://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return `${JSON.stringify(redactUrl(url))} is not a server address (nats://host:4222)`;
  }
  if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') return `${JSON.stringify(redactUrl(url))}: expected nats:// or tls://, got ${parsed.protocol.slice(0, -1)}://`;
  if (!parsed.hostname) return `${JSON.stringify(redactUrl(url))}: no host`;
  if (parsed.pathname !== '' && parsed.pathname !== '/') return `${JSON.stringify(redactUrl(url))}: a server address has no path`;
  return undefined;
}

/** A server URL with any user and password in it replaced, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1[redacted]@');
}

/** The host name as a node name: characters a name may not have become `-`. */
function defaultNodeName(): string {
  const name = hostname().replace(/[^A-Za-z0-9_.:-]/g, '-').replace(/^[^A-Za-z0-9_]+/, '').slice(0, 64);
  return NODE_PATTERN.test(name) ? name : 'node';
}

/** The configuration as safe to log: secrets redacted, credentials in URLs too. */
export function redactConfig(config: BridgeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, nats: config.nats.map(redactUrl) };
  for (const key of SECRET_KEYS) out[key] = (config as Record<string, unknown>)[key] !== undefined ? '[redacted]' : undefined;
  return out;
}

/**
 * The configuration in one line for the startup log: whether a token is required, whether eval is
 * on, and each setting that differs from its default, as its flag (`--timeout-ms=5000`).
 */
export function configSummary(config: BridgeConfig): string {
  const shown = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));
  const safe = redactConfig(config) as Record<keyof BridgeConfig, unknown>;
  const changed = (Object.keys(OPTION_DOCS) as Array<keyof BridgeConfig>)
    .filter((key) => !['host', 'port', 'allowEval', 'openPages', 'logFormat'].includes(key) && !SECRET_KEYS.has(key) && config[key] !== undefined && shown(config[key]) !== shown(DEFAULTS[key]))
    .map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${shown(safe[key])}`);
  const pages = config.openPages ? 'pages OPEN to any website (--open-pages)' : 'pages need the page key';
  return `token ${config.token ? 'required' : 'off'}, eval ${config.allowEval ? 'on' : 'off'}, ${pages}${changed.length ? `; ${changed.join(' ')}` : ''}`;
}
