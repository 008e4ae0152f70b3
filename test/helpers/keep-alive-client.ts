/** A JSON-over-HTTP client on a keep-alive agent, for load where fetch's per-request cost would dominate. */
import { Agent, request } from 'node:http';

/** A parsed answer; `body` is the raw text when it was not JSON. */
export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** Posts JSON bodies to one bridge over at most `maxSockets` reused connections. */
export interface JsonClient {
  post(path: string, body: unknown): Promise<JsonAnswer>;
  close(): void;
}

/** Creates a client for `baseUrl` (e.g. `http://127.0.0.1:12180`). */
export function createJsonClient(baseUrl: string, maxSockets = 256): JsonClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        const text = JSON.stringify(body);
        const req = request(
          { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              const raw = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = raw;
              try {
                parsed = JSON.parse(raw);
              } catch {
                // not JSON: keep the text so the caller can report it
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
            });
          },
        );
        req.on('error', reject);
        req.end(text);
      }),
    close: () => agent.destroy(),
  };
}
