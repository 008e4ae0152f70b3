/** Per-source caps: what a socket counts against, and the handshake gate's slots and wait list. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HandshakeGate, sourcesOf, type GateTicket } from '../../bridge/source-limits.js';

describe('sources of a page socket', () => {
  const cases: Array<[string | null, string | null, string[]]> = [
    ['https://shop.example', '127.0.0.1', ['origin https://shop.example']],
    ['https://shop.example', '::ffff:127.0.0.1', ['origin https://shop.example']],
    ['https://shop.example', '::1', ['origin https://shop.example']],
    ['https://shop.example', '203.0.113.9', ['origin https://shop.example', 'address 203.0.113.9']],
    ['null', '127.0.0.1', ['origin null']],
    [null, '127.0.0.1', []],
    [null, '203.0.113.9', ['address 203.0.113.9']],
  ];
  for (const [origin, address, expected] of cases) test(`${origin} from ${address}`, () => assert.deepEqual(sourcesOf(origin, address), expected));
});

describe('the handshake gate', () => {
  function gate(limit = 2, maxWaiting = 3): { gate: HandshakeGate; tickets: Map<string, GateTicket>; cancelled: string[]; enter(name: string, sources: string[]): boolean } {
    const g = new HandshakeGate(limit, maxWaiting, 60_000);
    const tickets = new Map<string, GateTicket>();
    const cancelled: string[] = [];
    return {
      gate: g,
      tickets,
      cancelled,
      enter: (name, sources) => g.enter(sources, (ticket) => tickets.set(name, ticket), (why) => cancelled.push(`${name}: ${why}`)).admitted,
    };
  }

  test('at most `limit` sockets per source at once; more wait and start in arrival order as slots free', () => {
    const t = gate();
    for (const name of ['a1', 'a2', 'a3', 'a4']) assert.equal(t.enter(name, ['origin a']), true);
    assert.deepEqual([...t.tickets.keys()], ['a1', 'a2']);
    assert.equal(t.gate.waitingCount, 2);
    t.tickets.get('a1')!.release();
    t.tickets.get('a1')!.release(); // a second release of the same slot counts for nothing
    assert.deepEqual([...t.tickets.keys()], ['a1', 'a2', 'a3']);
    t.tickets.get('a2')!.release();
    assert.deepEqual([...t.tickets.keys()], ['a1', 'a2', 'a3', 'a4']);
    for (const name of ['a3', 'a4']) t.tickets.get(name)!.release();
    assert.equal(t.gate.sourceCount, 0, 'nothing left counted');
  });

  test('a full wait list refuses at once; other sources are not held up; no sources means no limit', () => {
    const t = gate(1, 2);
    assert.equal(t.enter('a1', ['origin a']), true);
    assert.equal(t.enter('a2', ['origin a']), true);
    assert.equal(t.enter('a3', ['origin a']), true);
    assert.equal(t.enter('a4', ['origin a']), false, 'past the wait list');
    assert.equal(t.enter('b1', ['origin b']), true);
    assert.ok(t.tickets.has('b1'), 'another origin starts at once');
    for (let i = 0; i < 5; i++) assert.equal(t.enter(`local${i}`, []), true);
    assert.ok(t.tickets.has('local4'));
  });

  test('a socket counted against two sources needs room in both', () => {
    const t = gate(1, 4);
    t.enter('x', ['origin a', 'address 1']);
    t.enter('y', ['origin b', 'address 1']);
    assert.deepEqual([...t.tickets.keys()], ['x'], 'the address is full');
    t.tickets.get('x')!.release();
    assert.deepEqual([...t.tickets.keys()], ['x', 'y']);
  });

  test('a socket that goes away while waiting is withdrawn; closing refuses everyone still waiting', () => {
    const g = new HandshakeGate(1, 4, 60_000);
    const started: string[] = [];
    const cancelled: string[] = [];
    const enter = (name: string) => g.enter(['origin a'], () => started.push(name), (why) => cancelled.push(`${name}: ${why}`));
    enter('first');
    const gone = enter('gone');
    enter('last');
    gone.withdraw();
    assert.equal(g.waitingCount, 1);
    g.close();
    assert.deepEqual(cancelled, ['last: the bridge is shutting down']);
    assert.deepEqual(started, ['first']);
  });
});
