import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ROUTES, type Route } from '../../bridge/http/route-table.js';
import { RouteIndex } from '../../bridge/http/router.js';

const noop = (): void => {};

describe('the route table', () => {
  test('docs/http-api.md lists every route with its method and access, and nothing else', () => {
    const text = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
    const documented = [...text.matchAll(/^\| ([A-Z]+) \| `([^`]+)` \| ([a-z-]+) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort();
    const declared = ROUTES.flatMap((r) => r.methods.map((m) => `${m} ${r.path} ${r.access}`)).sort();
    assert.deepEqual(documented, declared);
  });

  test('every documented route has its own section or a row that says what it is', () => {
    const text = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
    for (const route of ROUTES) {
      for (const method of route.methods) {
        const row = new RegExp(`^\\| ${method} \\| \`${route.path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\` \\| [a-z-]+ \\| (.+) \\|$`, 'm').exec(text);
        assert.ok(row && row[1]!.trim().length > 0, `${method} ${route.path} needs a description`);
      }
    }
  });

  test('the hot routes are the call paths, and have no path parameters', () => {
    assert.deepEqual(ROUTES.filter((r) => r.hot).map((r) => `${r.methods.join(',')} ${r.path}`), ['POST /v1/call', 'POST /v1/batch']);
  });

  test('every /v1/ route and /metrics pass the API checks', () => {
    for (const route of ROUTES) {
      if (route.path.startsWith('/v1/') || route.path === '/metrics') assert.equal(route.access, 'api', route.path);
    }
  });
});

describe('route lookup', () => {
  const index = new RouteIndex(ROUTES);
  const cases: Array<[path: string, found: string | null, allow?: string]> = [
    ['/v1/call', '/v1/call', 'GET, HEAD, POST'],
    ['/v1/batch', '/v1/batch', 'POST'],
    ['/health', '/health', 'GET, HEAD, OPTIONS'],
    ['/v1/clients/abc123', '/v1/clients/:id', 'DELETE'],
    ['/v1/clients/%E0%A4%A', '/v1/clients/:id'],
    ['/V1/Clients', '/v1/clients', 'GET, HEAD'],
    ['/v1/clients/', '/v1/clients'],
    ['/', '/', 'GET, HEAD'],
    ['/dashboard/app.js', '/dashboard/app.js'],
    ['/v1/clients/a/b', null],
    ['/v1/clients//', null],
    ['/v1/call//', null],
    ['/v1', null],
    ['/v2/call', null],
    ['', null],
    ['*', null],
    ['http://x/v1/call', null],
  ];
  for (const [path, found, allow] of cases) {
    test(`${JSON.stringify(path)} ${found ? `is ${found}` : 'has no route'}`, () => {
      const at = index.lookup(path);
      assert.equal(at?.path ?? null, found);
      if (allow) assert.equal(at?.allow, allow);
    });
  }

  test('HEAD is served by the GET route; other methods are not', () => {
    const at = index.lookup('/v1/clients')!;
    assert.equal(at.byMethod.get('HEAD'), at.byMethod.get('GET'));
    assert.equal(at.byMethod.get('POST'), undefined);
  });

  const broken: Array<[string, Route[], RegExp]> = [
    ['a route declared twice', [{ methods: ['GET'], path: '/x', access: 'api', handler: noop }, { methods: ['GET', 'POST'], path: '/x', access: 'api', handler: noop }], /GET \/x is declared twice/],
    ['a hot route with a parameter', [{ methods: ['POST'], path: '/x/:id', access: 'api', hot: true, handler: noop }], /hot route \/x\/:id has a path parameter/],
  ];
  for (const [name, routes, error] of broken) {
    test(`a table with ${name} is refused`, () => assert.throws(() => new RouteIndex(routes), error));
  }
});
