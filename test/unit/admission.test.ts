/** Who joins and under which client id: the pure policy in bridge/admission.ts, as tables. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admit, claimId } from '../../bridge/admission.js';
import { resolveConfig, type BridgeOptions } from '../../bridge/config.js';
import { PageKeys } from '../../bridge/page-key.js';
import type { HelloMessage } from '../../protocol/index.js';

const keys = new PageKeys('admission-page-key-0123456789');
const TOKEN = 'admission-token-0123456789';
const hello = (fields: Partial<HelloMessage>): HelloMessage => ({ type: 'hello', v: 1, group: 'shop', url: '', title: '', actions: [], ...fields });

describe('admission', () => {
  const cases: Array<[string, Partial<HelloMessage>, BridgeOptions, string]> = [
    ['the page key', { key: 'admission-page-key-0123456789' }, {}, 'page-key'],
    ['the group key of its group', { key: keys.groupKey('shop') }, {}, 'group-key'],
    ['the token, on a bridge with one', { token: TOKEN }, { token: TOKEN }, 'token'],
    ['the key, on a bridge with a token (pages need not hold the token)', { key: keys.groupKey('shop') }, { token: TOKEN }, 'group-key'],
    ['no key under --open-pages', {}, { openPages: true }, 'open'],
    ['a wrong key under --open-pages (anyone joins)', { key: 'nope' }, { openPages: true }, 'open'],
    ['nothing', {}, {}, 'refused: this bridge admits only pages that carry its page key'],
    ['a wrong key', { key: 'x'.repeat(43) }, {}, "refused: key: not this bridge's page key"],
    ['another group\'s key', { key: keys.groupKey('live') }, {}, 'refused: key: this is the group key of "live", which admits that group only, not "shop"'],
    ['a token on a bridge without one', { token: TOKEN }, {}, 'refused: this bridge admits only pages'],
    ['a wrong token', { token: 'wrong-token-0123456789' }, { token: TOKEN }, 'refused: token: wrong token, and no page key'],
    ['no key under --open-pages with a token (the token still counts)', {}, { openPages: true, token: TOKEN }, 'refused: this bridge admits only pages'],
  ];
  for (const [name, fields, options, expected] of cases) {
    test(`${name}: ${expected.startsWith('refused') ? 'refused' : `admitted by ${expected}`}`, () => {
      const outcome = admit(hello(fields), keys, resolveConfig(options));
      if (outcome.ok) assert.equal(outcome.by, expected);
      else {
        assert.ok(expected.startsWith('refused: '), `refused: ${outcome.message}`);
        assert.equal(outcome.closeCode, 4401);
        assert.equal(outcome.errorCode, 'UNAUTHORIZED');
        assert.ok(outcome.message.startsWith(expected.slice('refused: '.length)), outcome.message);
        assert.match(outcome.message, /pagecall injector --group shop/, 'says how to get the snippet');
        assert.ok(!outcome.message.includes('admission-page-key'), 'never quotes a key');
      }
    });
  }
});

describe('client ids', () => {
  let n = 0;
  const fresh = (): string => `new${++n}`;
  const holders = new Map([['taken', 'the connected page']]);
  const holderOf = (id: string): string | undefined => holders.get(id);
  const cases: Array<[string, Partial<HelloMessage>, { id: string | RegExp; replaces?: string; refused: boolean }]> = [
    ['none asked: a new one', {}, { id: /^new\d+$/, refused: false }],
    ['a free id: granted (a fixed id, a page back after a restart)', { clientId: 'free' }, { id: 'free', refused: false }],
    ['a free id with its resume secret: granted', { clientId: 'free', resume: keys.resumeFor('free') }, { id: 'free', refused: false }],
    ['a connected page\'s id with its resume secret: taken over (a reconnect)', { clientId: 'taken', resume: keys.resumeFor('taken') }, { id: 'taken', replaces: 'the connected page', refused: false }],
    ['a connected page\'s id without the secret: a new id, the page undisturbed', { clientId: 'taken' }, { id: /^new\d+$/, refused: true }],
    ['a connected page\'s id with another id\'s secret: a new id', { clientId: 'taken', resume: keys.resumeFor('free') }, { id: /^new\d+$/, refused: true }],
    ['a connected page\'s id with a secret of another page key: a new id', { clientId: 'taken', resume: new PageKeys('other-page-key-0123456789').resumeFor('taken') }, { id: /^new\d+$/, refused: true }],
  ];
  for (const [name, fields, expected] of cases) {
    test(name, () => {
      const claim = claimId(hello(fields), holderOf, keys, fresh);
      if (typeof expected.id === 'string') assert.equal(claim.id, expected.id);
      else assert.match(claim.id, expected.id);
      assert.equal(claim.replaces, expected.replaces);
      assert.equal(claim.refused, expected.refused);
    });
  }
});
