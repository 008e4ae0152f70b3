/**
 * The cluster's pure parts: subject names, configuration of the NATS options, the node
 * directory's liveness rules and the wire messages' checks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NodeDirectory, type NodeEntry } from '../../bridge/cluster/directory.js';
import { natsConnectOptions } from '../../bridge/cluster/nats-options.js';
import { nameFromToken, Subjects, subjectToken } from '../../bridge/cluster/subjects.js';
import { CLUSTER_PROTOCOL, encodeCall, encodeShipment, readAnswer, readClientMessage, readHeartbeat, WireProblem, type HeartbeatMessage } from '../../bridge/cluster/wire.js';
import { configSummary, redactConfig, resolveConfig } from '../../bridge/config.js';

describe('cluster subjects', () => {
  const cases: Array<[string, string]> = [
    ['shop', 'shop'],
    ['sign_v2-x', 'sign_v2-x'],
    ['api/sign:v2', 'api/sign:v2'],
    ['$eval', '$eval'],
    ['shop.eu', 'shop~2eeu'],
    ['a~b', 'a~7eb'],
    ['*', '~2a'],
    ['>', '~3e'],
    ['a b', 'a~20b'],
    ['ü', '~c3~bc'],
  ];
  for (const [name, token] of cases) {
    test(`${JSON.stringify(name)} is the token ${token}, and back`, () => {
      assert.equal(subjectToken(name), token);
      assert.equal(nameFromToken(token), name);
    });
  }

  test('tokens never hold a dot, a wildcard or white space, so a name cannot add or match levels', () => {
    for (const [name] of cases) assert.doesNotMatch(subjectToken(name), /[.*>\s]/);
    assert.notEqual(subjectToken('a.b'), subjectToken('a~2eb'), 'escaping is injective');
  });

  test('every subject sits under the prefix', () => {
    const s = new Subjects('team.pagecall');
    assert.equal(s.call('shop.eu', 'sign'), 'team.pagecall.call.shop~2eeu.sign');
    assert.equal(s.client('k3j9x0a1b2c3'), 'team.pagecall.client.k3j9x0a1b2c3');
    assert.equal(s.reply('Inst_1', 42), 'team.pagecall.reply.Inst_1.42');
    assert.equal(s.replies('Inst_1'), 'team.pagecall.reply.Inst_1.*');
    assert.equal(s.nodeCancel('Inst_1'), 'team.pagecall.node.Inst_1.cancel');
    assert.equal(s.events('live', 'room/8848:frames'), 'team.pagecall.events.live.room/8848:frames');
    assert.equal(s.events('live.eu', 'chat.v2'), 'team.pagecall.events.live~2eeu.chat~2ev2');
    assert.deepEqual([s.heartbeat, s.list, s.cancel, s.interest], ['team.pagecall.hb', 'team.pagecall.list', 'team.pagecall.cancel', 'team.pagecall.interest']);
  });
});

describe('cluster configuration', () => {
  test('--nats joins a cluster under the host name unless --node names the node', () => {
    const config = resolveConfig({ nats: ['nats://10.0.0.5:4222'] });
    assert.match(config.node!, /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/);
    assert.equal(resolveConfig({ nats: ['nats://10.0.0.5:4222'], node: 'browser-a' }).node, 'browser-a');
    assert.equal(resolveConfig({}).node, undefined, 'no cluster, no node name');
    assert.deepEqual(resolveConfig({}, { PAGECALL_NATS: 'nats://a:4222, tls://b:4222', PAGECALL_NODE: 'edge-1' }).nats, ['nats://a:4222', 'tls://b:4222']);
  });

  const refused: Array<[string, Parameters<typeof resolveConfig>[0], RegExp]> = [
    ['an address that is not NATS', { nats: ['http://x:4222'] }, /nats: "http:\/\/x:4222": expected nats:\/\/ or tls:\/\/, got http:\/\//],
    ['an address with a path', { nats: ['nats://x:4222/path'] }, /no path/],
    ['a node name with a space', { nats: ['nats://x'], node: 'my node' }, /node: letters, digits/],
    ['a cluster option without --nats', { natsToken: 'secret' }, /natsToken: only used in a cluster; add --nats/],
    ['a node name without --nats', { node: 'a' }, /node: only used in a cluster/],
    ['a user without a password', { nats: ['nats://x'], natsUser: 'u' }, /natsUser and natsPass: give both or neither/],
    ['two ways to authenticate', { nats: ['nats://x'], natsToken: 't', natsCreds: '/x.creds' }, /choose one of --nats-token, --nats-creds/],
    ['a certificate without its key', { nats: ['nats://x'], natsTlsCert: '/c.pem' }, /natsTlsCert and natsTlsKey: give both or neither/],
    ['a prefix with a wildcard', { nats: ['nats://x'], natsPrefix: 'a.*' }, /natsPrefix: subject tokens/],
    ['a heartbeat too fast', { nats: ['nats://x'], clusterHeartbeatMs: 10 }, /clusterHeartbeatMs/],
  ];
  for (const [name, options, message] of refused) {
    test(`refuses ${name}, naming the option`, () => {
      assert.throws(() => resolveConfig(options), message);
    });
  }

  test('secrets stay out of logs and the startup line, credentials in URLs too', () => {
    const config = resolveConfig({ nats: ['nats://alice:s3cret@10.0.0.5:4222'], node: 'a', natsPrefix: 'team' });
    assert.deepEqual(redactConfig(config).nats, ['nats://[redacted]@10.0.0.5:4222']);
    assert.equal(configSummary(config), 'token off, eval off, pages need the page key; --nats=nats://[redacted]@10.0.0.5:4222 --node=a --nats-prefix=team');
    const withToken = resolveConfig({ nats: ['nats://x:4222'], node: 'a', natsToken: 'tok-123' });
    assert.equal(redactConfig(withToken).natsToken, '[redacted]');
    assert.doesNotMatch(configSummary(withToken), /tok-123/);
    const withPass = resolveConfig({ nats: ['nats://x:4222'], node: 'a', natsUser: 'u', natsPass: 'p4ss' });
    assert.equal(redactConfig(withPass).natsPass, '[redacted]');
    assert.doesNotMatch(configSummary(withPass), /p4ss/);
  });

  test('connection options carry the credentials, TLS files and reconnect forever', () => {
    const plain = natsConnectOptions(resolveConfig({ nats: ['nats://bob:pw@10.0.0.5:4222', '10.0.0.6:4222'], node: 'a' }), 'a');
    assert.deepEqual(plain.servers, ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222']);
    assert.deepEqual([plain.user, plain.pass, plain.token, plain.tls], ['bob', 'pw', undefined, undefined]);
    assert.deepEqual([plain.maxReconnectAttempts, plain.noEcho], [-1, true]);
    assert.equal(natsConnectOptions(resolveConfig({ nats: ['nats://x'], node: 'a', natsToken: 't0k' }), 'a').token, 't0k');

    const dir = mkdtempSync(join(tmpdir(), 'pagecall-nats-opts-'));
    const seed = join(dir, 'user.nk');
    writeFileSync(seed, 'SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU\n');
    assert.equal(typeof natsConnectOptions(resolveConfig({ nats: ['nats://x'], node: 'a', natsNkey: seed }), 'a').authenticator, 'function');
    assert.throws(() => natsConnectOptions(resolveConfig({ nats: ['nats://x'], node: 'a', natsCreds: join(dir, 'missing.creds') }), 'a'), /natsCreds: cannot read ".*missing\.creds": ENOENT/);
    writeFileSync(join(dir, 'ca.pem'), 'not checked here');
    const tls = natsConnectOptions(resolveConfig({ nats: ['nats://x'], node: 'a', natsTlsCa: join(dir, 'ca.pem') }), 'a');
    assert.equal(tls.tls?.caFile, join(dir, 'ca.pem'));
    assert.equal(typeof (tls.tls as { checkServerIdentity?: unknown }).checkServerIdentity, 'function');
    assert.ok(natsConnectOptions(resolveConfig({ nats: ['tls://x:4222'], node: 'a' }), 'a').tls, 'tls:// requires TLS');
    assert.equal(natsConnectOptions(resolveConfig({ nats: ['nats://x:4222'], node: 'a' }), 'a').tls, undefined, 'TLS only when the server asks for it');
    assert.throws(() => natsConnectOptions(resolveConfig({ nats: ['nats://x'], node: 'a', natsTlsCert: join(dir, 'no.pem'), natsTlsKey: join(dir, 'no.key') }), 'a'), /natsTlsCert: cannot read/);
  });
});

describe('the node directory', () => {
  const beat = (n: string, extra: Partial<HeartbeatMessage> = {}): HeartbeatMessage => ({ v: CLUSTER_PROTOCOL, n, name: `node-${n}`, url: `http://${n}`, version: '0.1.0', since: 0, hb: 100, pages: 1, groups: { shop: ['sign'] }, ...extra });

  test('a node silent for three of its own heartbeats is gone; one heard from is not', () => {
    const gone: string[] = [];
    const dir = new NodeDirectory((node: NodeEntry, why) => gone.push(`${node.name}:${why}`), 1_000);
    dir.heard(beat('a'));
    dir.heard(beat('b', { hb: 1_000 }));
    const t0 = dir.get('a')!.lastSeen;
    assert.equal(dir.sweep(t0 + 299), 0);
    assert.equal(dir.sweep(t0 + 301), 1);
    assert.deepEqual(gone, ['node-a:silent']);
    assert.ok(dir.get('b'), 'b beats every second: 301 ms of silence is nothing for it');
    dir.heard(beat('b', { bye: true }));
    assert.deepEqual(gone, ['node-a:silent', 'node-b:left']);
    assert.equal(dir.size, 0);
  });

  test('knows which groups and actions other nodes have', () => {
    const dir = new NodeDirectory(() => {}, 1_000);
    dir.heard(beat('a', { groups: { shop: ['sign', 'who'] } }));
    dir.heard(beat('b', { groups: { shop: ['echo'], news: ['headline'] } }));
    assert.deepEqual(dir.groupNames().sort(), ['news', 'shop']);
    assert.deepEqual(dir.actionsOf('shop').sort(), ['echo', 'sign', 'who']);
    assert.equal(dir.hasGroup('ghost'), false);
    const { isNew } = dir.heard(beat('a', { groups: {} }));
    assert.equal(isNew, false);
    assert.deepEqual(dir.actionsOf('shop'), ['echo'], 'a node\'s latest heartbeat replaces what it said before');
  });

  test('a node first heard through an answer counts as announced only once it heartbeats', () => {
    const dir = new NodeDirectory(() => {}, 1_000);
    dir.touch('c', 'node-c');
    assert.equal(dir.get('c')!.announced, false);
    assert.equal(dir.heard(beat('c')).isNew, true);
    assert.equal(dir.get('c')!.announced, true);
  });
});

describe('cluster wire messages', () => {
  const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

  test('a shipment carries each call with the time left, its pin, retry and request id', () => {
    const call = { group: 'shop', action: 'sign', args: [{ $bytes: 'AQ==' }], retry: false, request: { clientId: 'p1', requestId: 'r-1' } };
    const text = encodeShipment('inst', 'edge-1', [encodeCall(call, 1234.4)]);
    const read = readClientMessage(bytes(text));
    assert.ok(!('kick' in read));
    assert.deepEqual(read, { v: CLUSTER_PROTOCOL, from: 'inst', name: 'edge-1', calls: [{ g: 'shop', a: 'sign', args: [{ $bytes: 'AQ==' }], t: 1234, c: 'p1', r: false, q: 'r-1' }] });
  });

  test('messages of another cluster protocol version are refused with what to do', () => {
    assert.throws(() => readHeartbeat(bytes({ v: 99, n: 'x' })), (e: Error) => e instanceof WireProblem && /cluster protocol 99, this node speaks 1; run the same pagecall version on every node/.test(e.message));
    assert.throws(() => readClientMessage(bytes('not json')), /shipment: not JSON/);
    assert.throws(() => readClientMessage(bytes({ v: 1, from: 'x', name: 'y', calls: [{ g: 'a', a: 'b', args: [], t: 0 }] })), /calls\[0\]\.t: expected a positive number/);
  });

  test('an error code this node does not know arrives as INTERNAL with its message', () => {
    const answer = readAnswer(bytes({ v: 1, n: 'x', name: 'b', r: [{ i: 0, ok: false, error: { code: 'FROM_THE_FUTURE', message: 'something new' }, c: null, at: 1 }] }));
    const result = answer.r![0] as { error: { code: string; message: string } };
    assert.deepEqual([result.error.code, result.error.message], ['INTERNAL', 'something new']);
  });
});
