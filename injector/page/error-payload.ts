import type { PageErrorPayload } from '../../protocol/messages.js';

/** An Error with the given name (TimeoutError, AbortError...), used as an abort reason. */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Describes anything a page function threw as `{name, message, stack?}` (non-errors: name 'Error', String(x)). */
export function toErrorPayload(thrown: unknown): PageErrorPayload {
  try {
    if (thrown !== null && (typeof thrown === 'object' || typeof thrown === 'function')) {
      const { name, message, stack } = thrown as { name?: unknown; message?: unknown; stack?: unknown };
      if (typeof message === 'string') {
        const payload: PageErrorPayload = { name: typeof name === 'string' && name !== '' ? name : 'Error', message };
        if (typeof stack === 'string') payload.stack = stack;
        return payload;
      }
    }
    return { name: 'Error', message: String(thrown) };
  } catch {
    return { name: 'Error', message: 'the function threw a value that cannot be turned into a string' };
  }
}

/** The message of an error-like value, or String(value). */
export function messageOf(error: unknown): string {
  return toErrorPayload(error).message;
}
