/**
 * The fields of a JsRpc-style request, from wherever its caller put them: the query string, an
 * urlencoded or multipart form (parsed by busboy), or a JSON object body (which JsRpc itself
 * cannot read). Body fields win over query fields of the same name; of repeated fields the first
 * counts; fields routes do not use are ignored, as JsRpc ignores them.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { PagecallError, typeName } from '../../protocol/index.js';
import { parseJsonBytes, readBodyBytes } from '../http/read-body.js';

/** A request's fields: strings from the query and forms, any JSON value from a JSON body. */
export type Fields = ReadonlyMap<string, unknown>;

/** Reads every field of the request; the body is read only up to `limit` bytes. */
export async function readFields(req: IncomingMessage, query: URLSearchParams, limit: number): Promise<Fields> {
  const fields = new Map<string, unknown>();
  for (const [name, value] of query) if (!fields.has(name)) fields.set(name, value);
  const body = await readBodyBytes(req, limit);
  if (body.length === 0) return fields;
  const fromBody = await parseBody(req, body, limit);
  for (const [name, value] of fromBody) fields.set(name, value);
  return fields;
}

/** A field that must be a string when present (JSON bodies may send other types). */
export function stringField(fields: Fields, name: string): string | undefined {
  const value = fields.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new PagecallError('BAD_REQUEST', `${name}: expected string, got ${typeName(value)}`);
  return value;
}

/** A yes/no field: `true`/`1`/`yes`/`on` (any case) or JSON true are yes; absent is no. */
export function flagField(fields: Fields, name: string): boolean {
  const value = fields.get(name);
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === null) return false;
  if (typeof value !== 'string') throw new PagecallError('BAD_REQUEST', `${name}: expected true or false, got ${typeName(value)}`);
  return /^(?:true|1|yes|on)$/i.test(value.trim());
}

/**
 * The body's fields by its content type. Without one (Python's `requests.post(url, data=json.dumps(...))`
 * sends none) or with text/plain, a body that opens with `{` is read as JSON and any other as a form.
 */
function parseBody(req: IncomingMessage, body: Buffer, limit: number): Promise<Map<string, unknown>> {
  const header = req.headers['content-type'];
  const type = typeof header === 'string' ? header.split(';')[0]!.trim().toLowerCase() : '';
  if (/^application\/(?:[\w.+-]+\+)?json$/.test(type)) return Promise.resolve(jsonFields(body));
  if (type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded') return formFields(req.headers, body, limit);
  if (type === '' || type === 'text/plain') {
    const text = body.toString('utf8');
    if (/^\s*\{/.test(text)) return Promise.resolve(jsonFields(body));
    return formFields({ 'content-type': 'application/x-www-form-urlencoded' }, body, limit);
  }
  return Promise.reject(
    new PagecallError('UNSUPPORTED_MEDIA_TYPE', `content-type: expected a form (application/x-www-form-urlencoded or multipart/form-data) or application/json, got ${JSON.stringify(header)}`),
  );
}

function jsonFields(body: Buffer): Map<string, unknown> {
  const parsed = parseJsonBytes(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new PagecallError('BAD_REQUEST', `body: expected a JSON object, got ${typeName(parsed)}`);
  return new Map(Object.entries(parsed));
}

/** Form fields through busboy; a file part counts as a field holding the file's text. */
function formFields(headers: Record<string, string | string[] | undefined>, body: Buffer, limit: number): Promise<Map<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fields = new Map<string, unknown>();
    const add = (name: string, value: string): void => {
      if (!fields.has(name)) fields.set(name, value);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers, limits: { fieldSize: limit, fileSize: limit }, defCharset: 'utf8' });
    } catch (error) {
      reject(new PagecallError('BAD_REQUEST', `body: ${(error as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => add(name, value));
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => add(name, Buffer.concat(chunks).toString('utf8')));
    });
    parser.on('error', (error: unknown) => reject(new PagecallError('BAD_REQUEST', `body: ${error instanceof Error ? error.message : String(error)}`)));
    parser.on('close', () => resolve(fields));
    parser.end(body);
  });
}
