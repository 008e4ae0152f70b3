/**
 * Shapes of call requests (POST /v1/call, each item of /v1/batch, GET /v1/call, and the Node API's
 * calls), checked with zod: every way in follows the same rules with the same messages.
 */
import { z } from 'zod';
import { EVAL_ACTION, PagecallError, checkAction, checkClientId, checkGroup, findMalformedTag, typeName, type Json } from '../../protocol/index.js';
import type { BridgeConfig } from '../config.js';
import { MAX_WIRE_DEPTH, nestedDeeperThan } from '../json-depth.js';
import type { CallRequest } from '../pending-calls.js';

const nameCheck = (check: (v: unknown, field: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const error = check(value, '');
    if (error) ctx.addIssue({ code: 'custom', message: error.replace(/^[^:]*: /, '') });
  });

const callFields = {
  group: nameCheck(checkGroup),
  action: nameCheck(checkAction),
  args: z.array(z.unknown()).optional(),
  clientId: nameCheck(checkClientId).optional(),
  timeoutMs: z.number().int().positive().optional(),
  retry: z.boolean().optional(),
  balance: z.enum(['least-in-flight', 'round-robin']).optional(),
};

const callSchema = z.strictObject(callFields);
const batchItemSchema = z.strictObject({ ...callFields, group: callFields.group.optional() });
const batchSchema = z.strictObject({
  calls: z.array(z.unknown()),
  group: callFields.group.optional(),
  timeoutMs: callFields.timeoutMs,
  retry: callFields.retry,
  balance: callFields.balance,
});

type CallFields = z.infer<typeof callSchema>;

const CALL_KEYS: ReadonlySet<string> = new Set(Object.keys(callFields));
const own = Object.prototype.hasOwnProperty;

/**
 * The common case without zod: every field valid or absent (`defaults` fill in for a batch item
 * what it leaves out). Anything else returns undefined and goes through the schema, which says
 * exactly what is wrong — so both paths accept the same bodies and the errors are the schema's.
 */
function quickFields(input: Record<string, unknown>, defaults: Partial<CallFields> | undefined): CallFields | undefined {
  for (const key in input) if (!CALL_KEYS.has(key)) return undefined;
  const pick = <K extends keyof CallFields>(key: K): unknown => (own.call(input, key) ? input[key] : defaults?.[key]);
  const group = pick('group');
  const action = input.action;
  const args = input.args;
  const clientId = input.clientId;
  const timeoutMs = pick('timeoutMs');
  const retry = pick('retry');
  const balance = pick('balance');
  if (checkGroup(group) !== undefined || checkAction(action) !== undefined) return undefined;
  if (args !== undefined && !Array.isArray(args)) return undefined;
  if (clientId !== undefined && checkClientId(clientId) !== undefined) return undefined;
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && (timeoutMs as number) > 0)) return undefined;
  if (retry !== undefined && typeof retry !== 'boolean') return undefined;
  if (balance !== undefined && balance !== 'least-in-flight' && balance !== 'round-robin') return undefined;
  return { group, action, args, clientId, timeoutMs, retry, balance } as CallFields;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** Turns the first zod issue into `field: what was wrong`, prefixed with `prefix`. */
function badRequest(error: z.ZodError, input: unknown, prefix = ''): PagecallError {
  const issue = error.issues[0]!;
  const path = prefix + issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 && !prefix ? '' : '.'}${String(p)}`)).join('');
  let message: string;
  if (issue.code === 'invalid_type') {
    const got = valueAt(input, issue.path);
    // A number of the wrong kind (NaN, 1.5) is named by its value: "expected number, got number" would not help.
    const what = typeof got === 'number' && (issue.expected === 'number' || issue.expected === 'int') ? String(got) : typeName(got);
    message = got === undefined ? `${path}: required` : `${path}: expected ${issue.expected === 'int' ? 'integer' : issue.expected}, got ${what}`;
  } else if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const hint = keys.includes('param') || keys.includes('params') ? ' (pass arguments as "args": [...])' : '';
    message = `${path ? `${path}: ` : ''}unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}${hint}`;
  } else {
    message = `${path || 'body'}: ${issue.message}`;
  }
  return new PagecallError('BAD_REQUEST', message);
}

/** Checks what the schema cannot and builds the request; `at` prefixes field names (`calls[3].`). */
function toRequest(fields: CallFields, config: BridgeConfig, item?: number): CallRequest {
  const at = (): string => (item === undefined ? '' : `calls[${item}].`);
  if (fields.timeoutMs !== undefined && fields.timeoutMs > config.maxTimeoutMs) {
    throw new PagecallError('BAD_REQUEST', `${at()}timeoutMs: at most ${config.maxTimeoutMs}, got ${fields.timeoutMs}`);
  }
  const args = fields.args ?? [];
  checkArgs(args, at());
  const request: CallRequest = { group: fields.group, action: fields.action, args: args as Json[] };
  if (fields.clientId !== undefined) request.clientId = fields.clientId;
  if (fields.timeoutMs !== undefined) request.timeoutMs = fields.timeoutMs;
  if (fields.retry !== undefined) request.retry = fields.retry;
  if (fields.balance !== undefined) request.balance = fields.balance;
  return request;
}

/**
 * Checks encoded arguments: nesting (deep JSON would overflow the page's stringify) and tagged
 * values (a malformed `$bytes` is the caller's mistake, so it must not reach a page as one).
 * `at` prefixes the field (`calls[3].`).
 */
export function checkArgs(args: readonly unknown[], at = ''): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === null || typeof arg !== 'object') continue;
    if (nestedDeeperThan(arg)) throw new PagecallError('BAD_REQUEST', `${at}args[${i}]: nested deeper than ${MAX_WIRE_DEPTH} levels`, { limit: MAX_WIRE_DEPTH });
    const malformed = findMalformedTag(arg, `${at}args[${i}]`);
    if (malformed) throw new PagecallError('BAD_REQUEST', malformed);
  }
}

function ensureObject(body: unknown, what: string): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new PagecallError('BAD_REQUEST', `${what}: expected object, got ${typeName(body)}`);
  }
}

/** Validates a POST /v1/call body. */
export function parseCallBody(body: unknown, config: BridgeConfig): CallRequest {
  ensureObject(body, 'body');
  const quick = quickFields(body as Record<string, unknown>, undefined);
  if (quick) return toRequest(quick, config);
  const parsed = callSchema.safeParse(body);
  if (!parsed.success) throw badRequest(parsed.error, body);
  return toRequest(parsed.data, config);
}

/** A batch: the calls that parsed, and per-item errors for the ones that did not. */
export type BatchItem = { ok: true; request: CallRequest } | { ok: false; error: PagecallError };

/** Validates a POST /v1/batch body; a bad item fails alone, a bad envelope fails the request. */
export function parseBatchBody(body: unknown, config: BridgeConfig): BatchItem[] {
  ensureObject(body, 'body');
  const parsed = batchSchema.safeParse(body);
  if (!parsed.success) throw badRequest(parsed.error, body);
  const { calls, ...defaults } = parsed.data;
  if (calls.length > config.maxBatch) {
    throw new PagecallError('PAYLOAD_TOO_LARGE', `calls: at most ${config.maxBatch} calls per batch, got ${calls.length} (--max-batch)`, { limit: config.maxBatch });
  }
  return calls.map((item, i): BatchItem => {
    try {
      ensureObject(item, `calls[${i}]`);
      const quick = quickFields(item as Record<string, unknown>, defaults);
      if (quick) return { ok: true, request: toRequest(quick, config, i) };
      const merged = { ...defaults, ...(item as object) };
      const checked = batchItemSchema.safeParse(merged);
      if (!checked.success) throw badRequest(checked.error, merged, `calls[${i}]`);
      if (checked.data.group === undefined) throw new PagecallError('BAD_REQUEST', `calls[${i}].group: required (or set "group" on the batch)`);
      return { ok: true, request: toRequest(checked.data as CallFields, config, i) };
    } catch (error) {
      return { ok: false, error: PagecallError.from(error) };
    }
  });
}

/**
 * Validates a call made through the Node API (Bridge.call, Bridge.callRaw) by the rules and with
 * the messages of POST /v1/call; the Node-only fields (`signal`, `requestId`) are kept as given.
 */
export function checkCallRequest(request: CallRequest, config: BridgeConfig): CallRequest {
  if (request === null || typeof request !== 'object') throw new PagecallError('BAD_REQUEST', `request: expected object, got ${typeName(request)}`);
  const { group, action, args, clientId, timeoutMs, retry, balance, signal, requestId } = request;
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries({ group, action, args, clientId, timeoutMs, retry, balance })) {
    if (value !== undefined) body[key] = value;
  }
  const checked = parseCallBody(body, config);
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) throw new PagecallError('BAD_REQUEST', `signal: expected AbortSignal, got ${typeName(signal)}`);
    checked.signal = signal;
  }
  if (requestId !== undefined) {
    if (typeof requestId !== 'string') throw new PagecallError('BAD_REQUEST', `requestId: expected string, got ${typeName(requestId)}`);
    checked.requestId = requestId;
  }
  return checked;
}

/** Reads GET /v1/call?group=&action=&args=[json]&arg=...&clientId=&timeoutMs=&retry=. */
export function parseCallQuery(query: URLSearchParams, config: BridgeConfig): CallRequest {
  const body: Record<string, unknown> = {};
  for (const key of ['group', 'action', 'clientId', 'balance']) {
    const value = query.get(key);
    if (value !== null) body[key] = value;
  }
  const argsText = query.get('args');
  const single = query.getAll('arg');
  if (argsText !== null && single.length > 0) throw new PagecallError('BAD_REQUEST', 'args: use either args=[...] or arg=..., not both');
  if (argsText !== null) {
    try {
      body.args = JSON.parse(argsText);
    } catch {
      throw new PagecallError('BAD_REQUEST', 'args: expected a JSON array, e.g. args=[1,"two"]');
    }
  } else if (single.length > 0) {
    body.args = single.map((text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    });
  }
  const timeout = query.get('timeoutMs');
  if (timeout !== null) body.timeoutMs = /^\d+$/.test(timeout) ? Number(timeout) : timeout;
  const retry = query.get('retry');
  if (retry !== null) body.retry = retry === 'true' ? true : retry === 'false' ? false : retry;
  return parseCallBody(body, config);
}

const evalSchema = z.strictObject({
  group: callFields.group,
  code: z.string().min(1),
  clientId: callFields.clientId,
  timeoutMs: callFields.timeoutMs,
});

/** Validates a POST /v1/eval body into a call of the built-in `$eval` action (never retried). */
export function parseEvalBody(body: unknown, config: BridgeConfig): CallRequest {
  ensureObject(body, 'body');
  const parsed = evalSchema.safeParse(body);
  if (!parsed.success) throw badRequest(parsed.error, body);
  const { code, ...rest } = parsed.data;
  const request = toRequest({ ...rest, action: EVAL_ACTION, args: [code] }, config);
  request.retry = false;
  return request;
}
