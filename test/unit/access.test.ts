import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { checkApiAccess, hostName, originAllowed, tokenMatches } from '../../bridge/access.js';
import { resolveConfig, type BridgeOptions } from '../../bridge/config.js';

const TOKEN = 'a-token-of-16-characters';

/** Only the headers matter to the checks. */
function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('API access checks', () => {
  const cases: Array<[name: string, options: BridgeOptions, headers: Record<string, string>, query: string | null, expected: null | [code: string, message: RegExp]]> = [
    ['loopback with a localhost Host', {}, { host: 'localhost:12180' }, null, null],
    ['loopback with a 127.0.0.1 Host', {}, { host: '127.0.0.1:12180' }, null, null],
    ['loopback with an IPv6 loopback Host', {}, { host: '[::1]:12180' }, null, null],
    ['loopback with a Host in another case', {}, { host: 'LOCALHOST:1' }, null, null],
    ['a foreign Host on loopback (DNS rebinding)', {}, { host: 'evil.example:12180' }, null, ['FORBIDDEN', /DNS-rebinding/]],
    ['a rebinding name that starts like loopback', {}, { host: '127.0.0.1.nip.io' }, null, ['FORBIDDEN', /Host "127\.0\.0\.1\.nip\.io"/]],
    ['no Host at all on loopback', {}, {}, null, ['FORBIDDEN', /Host ""/]],
    ['a foreign Host named in --allow-hosts', { allowHosts: ['bridge.test'] }, { host: 'bridge.test:80' }, null, null],
    ['any Host when not bound to loopback (the token guards it)', { host: '0.0.0.0', token: TOKEN }, { host: 'box.lan', authorization: `Bearer ${TOKEN}` }, null, null],
    ['a same-origin browser request', {}, { host: 'localhost:1', origin: 'http://localhost:1', 'sec-fetch-site': 'same-origin' }, null, null],
    ['a request a user typed (Sec-Fetch-Site: none)', {}, { host: 'localhost:1', 'sec-fetch-site': 'none' }, null, null],
    ['a cross-site request', {}, { host: 'localhost:1', 'sec-fetch-site': 'cross-site' }, null, ['FORBIDDEN', /cross-site/]],
    ['a same-site request (another port of the same site)', {}, { host: 'localhost:1', 'sec-fetch-site': 'same-site' }, null, ['FORBIDDEN', /cross-site/]],
    ['an Origin of another site', {}, { host: 'localhost:1', origin: 'https://evil.example' }, null, ['FORBIDDEN', /cross-site/]],
    ['an Origin on another port', {}, { host: 'localhost:1', origin: 'http://localhost:2' }, null, ['FORBIDDEN', /cross-site/]],
    ['an Origin that is not a URL', {}, { host: 'localhost:1', origin: 'not a url' }, null, ['FORBIDDEN', /cross-site/]],
    ['an opaque origin (sandboxed frame, file:)', {}, { host: 'localhost:1', origin: 'null' }, null, ['FORBIDDEN', /opaque/]],
    ['a token bridge without a token', { token: TOKEN }, { host: 'localhost:1' }, null, ['UNAUTHORIZED', /Bearer/]],
    ['a token bridge with the Bearer token', { token: TOKEN }, { host: 'localhost:1', authorization: `Bearer ${TOKEN}` }, null, null],
    ['a token bridge with the scheme in lower case', { token: TOKEN }, { host: 'localhost:1', authorization: `bearer ${TOKEN}` }, null, null],
    ['a token bridge with a wrong token', { token: TOKEN }, { host: 'localhost:1', authorization: 'Bearer wrong-token-of-16-chars' }, null, ['UNAUTHORIZED', /token/]],
    ['a token bridge with Basic auth', { token: TOKEN }, { host: 'localhost:1', authorization: `Basic ${TOKEN}` }, null, ['UNAUTHORIZED', /token/]],
    ['a token bridge with ?token=', { token: TOKEN }, { host: 'localhost:1' }, `token=${TOKEN}`, null],
    ['a token bridge with a wrong ?token=', { token: TOKEN }, { host: 'localhost:1' }, 'token=nope', ['UNAUTHORIZED', /token/]],
    ['the Host check comes before the token check', { token: TOKEN }, { host: 'evil.example' }, null, ['FORBIDDEN', /DNS-rebinding/]],
  ];
  for (const [name, options, headers, query, expected] of cases) {
    test(`${expected ? `refuses ${expected[0]}` : 'allows'}: ${name}`, () => {
      const denied = checkApiAccess(request(headers), resolveConfig(options), query === null ? null : new URLSearchParams(query));
      if (expected === null) assert.equal(denied, null, denied?.message);
      else {
        assert.equal(denied?.code, expected[0]);
        assert.match(denied.message, expected[1]);
      }
    });
  }
});

describe('page origins (--allow-origins)', () => {
  const cases: Array<[origin: string | null, allow: string[], allowed: boolean]> = [
    ['https://a.example', [], true],
    [null, [], true],
    [null, ['https://a.example'], false],
    ['https://a.example', ['https://a.example'], true],
    ['https://b.example', ['https://a.example'], false],
    ['https://x.a.example', ['https://*.a.example'], true],
    ['https://x.y.a.example', ['https://*.a.example'], true],
    ['https://a.example', ['https://*.a.example'], false],
    ['https://evila.example', ['https://*.a.example'], false],
    ['http://x.a.example', ['https://*.a.example'], false],
    ['https://anything.test', ['*'], true],
  ];
  for (const [origin, allow, allowed] of cases) {
    test(`${origin} with [${allow.join(', ')}] is ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(originAllowed(origin, allow), allowed);
    });
  }
});

describe('helpers', () => {
  const hosts: Array<[string, string]> = [
    ['localhost:12180', 'localhost'],
    ['LocalHost', 'localhost'],
    ['[::1]:80', '[::1]'],
    ['[::1]', '[::1]'],
    ['127.0.0.1', '127.0.0.1'],
    ['', ''],
  ];
  for (const [header, name] of hosts) test(`the Host ${JSON.stringify(header)} names ${JSON.stringify(name)}`, () => assert.equal(hostName(header), name));

  test('tokens match exactly, whatever their length', () => {
    assert.equal(tokenMatches(TOKEN, TOKEN), true);
    assert.equal(tokenMatches(`${TOKEN}x`, TOKEN), false);
    assert.equal(tokenMatches(TOKEN.slice(1), TOKEN), false);
    assert.equal(tokenMatches('', TOKEN), false);
    assert.equal(tokenMatches(undefined, TOKEN), false);
    assert.equal(tokenMatches(null, TOKEN), false);
  });
});
