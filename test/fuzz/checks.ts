/** What a correct bridge must answer: each check returns null when the answer is right, else why not. */
import { ERRORS, isErrorCode } from '../../protocol/index.js';
import type { Expectation } from './http-requests.js';
import type { RawResponse } from './raw-http.js';

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `{ok: false, error: {code}}` with a catalogue code whose status is `status`. */
function codedError(body: any, status: number): string | null {
  if (!body || body.ok !== false || !body.error) return `expected {ok:false,error}, got ${JSON.stringify(body)?.slice(0, 200)}`;
  const code: unknown = body.error.code;
  if (!isErrorCode(code)) return `unknown error code ${JSON.stringify(code)}`;
  if (ERRORS[code].status !== status) return `code ${code} is ${ERRORS[code].status} in the catalogue, answered with ${status}`;
  if (typeof body.error.message !== 'string' || body.error.message === '') return `${code} without a message`;
  return null;
}

/** Checks the answer to one fuzzed HTTP request. */
export function checkHttpAnswer(expect: Expectation, r: RawResponse, items?: number): string | null {
  if (r.hung) return 'no answer and the connection stayed open';
  if (r.status !== null && r.status >= 500) return `server error ${r.status}: ${r.body.slice(0, 200)}`;
  switch (expect) {
    case 'lenient':
      return null;
    case 'raw4xx':
      return r.status === null || (r.status >= 400 && r.status < 500) ? null : `expected a 4xx or a closed connection, got ${r.status}`;
    case 'head4xx':
      return r.status !== null && r.status >= 400 && r.status < 500 ? null : `expected a 4xx, got ${r.status}`;
    case 'json4xx': {
      if (r.status === null || r.status < 400 || r.status >= 500) return `expected a coded 4xx, got ${r.status}: ${r.body.slice(0, 200)}`;
      if (!r.headers['x-request-id']) return 'no x-request-id header';
      return codedError(parse(r.body), r.status);
    }
    case 'batch-items': {
      if (r.status !== 200) return `expected 200 with per-item errors, got ${r.status}: ${r.body.slice(0, 200)}`;
      const body = parse(r.body);
      if (!body?.ok || !Array.isArray(body.results) || body.results.length !== items) return `expected ${items} results, got ${r.body.slice(0, 200)}`;
      for (const [i, item] of (body.results as any[]).entries()) {
        if (item.ok !== false || !isErrorCode(item.error?.code)) return `calls[${i}]: expected a coded error, got ${JSON.stringify(item).slice(0, 200)}`;
        const status = ERRORS[item.error.code as keyof typeof ERRORS].status;
        if (status < 400 || status >= 500) return `calls[${i}]: ${item.error.code} is not a caller error (${item.error.message})`;
      }
      return null;
    }
  }
}

/**
 * Checks the answer to a call made while pages misbehave: a success whose result (when it carries
 * them) names the page that answered and echoes this call's nonce, or any coded error but INTERNAL.
 */
export function checkCallAnswer(status: number, body: any, nonce: string): string | null {
  if (status === 200) {
    if (body?.ok !== true || typeof body.clientId !== 'string') return `200 without {ok:true, clientId}: ${JSON.stringify(body)?.slice(0, 200)}`;
    const result = body.result;
    if (result && typeof result === 'object' && !Array.isArray(result)) {
      if ('by' in result && result.by !== 'unknown' && result.by !== body.clientId) return `result from page ${result.by} delivered as page ${body.clientId}'s (forged: ${result.forged === true})`;
      if ('nonce' in result && result.nonce !== nonce) return `result for nonce ${result.nonce} delivered to the call with nonce ${nonce}`;
    }
    return null;
  }
  const problem = codedError(body, status);
  if (problem) return problem;
  return body.error.code === 'INTERNAL' ? `INTERNAL: ${body.error.message}` : null;
}
