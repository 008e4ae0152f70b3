/**
 * Nodes joining a NATS server that requires credentials, and one that requires TLS: the right
 * credentials (or CA) join and calls go through; wrong ones keep the node serving its own pages and
 * say why in GET /v1/cluster, without leaking the secret.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Bridge, StartOptions } from '../../bridge/index.js';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor, type Cleanup } from '../helpers/cleanup.js';
import { startNatsServer } from '../helpers/nats-server.js';

/** Two in-process nodes on `nats`: a page on the first, callers on the second; resolves once a call goes through. */
async function callAcross(use: Cleanup, options: StartOptions): Promise<{ one: Bridge; two: Bridge }> {
  const one = await use.bridge({ ...options, node: 'auth-1', clusterHeartbeatMs: 500 });
  const two = await use.bridge({ ...options, node: 'auth-2', clusterHeartbeatMs: 500 });
  await use.page({ bridgeUrl: one.url, group: 'secure', clientId: 'secure-page', key: one.pageKey, handlers: { hi: () => 'hi from auth-1' } });
  const r = await until(async () => {
    const res = await postJson(`${two.url}/v1/call`, { group: 'secure', action: 'hi' });
    return res.status === 200 ? res : undefined;
  }, 'a call through auth-2 to reach the page on auth-1');
  assert.deepEqual([r.body.result, r.headers.get('x-pagecall-node')], ['hi from auth-1', 'auth-1']);
  return { one, two };
}

/** Waits until a node has tried NATS and failed; returns its cluster status. */
async function refused(bridge: Bridge): Promise<any> {
  return until(async () => {
    const { body } = await getJson(`${bridge.url}/v1/cluster`);
    return body.cluster.error ? body.cluster : undefined;
  }, `${bridge.node} to report why NATS refused it`);
}

describe('a NATS server that requires credentials', () => {
  test('nodes with the user and password join; a wrong password keeps the node on its own pages and says why, not what', async (t) => {
    const use = cleanupFor(t);
    const nats = use.add(await startNatsServer(['--user', 'pagecall', '--pass', 'right-pass-123']), 'nats-server');
    await callAcross(use, { nats: [nats.url], natsUser: 'pagecall', natsPass: 'right-pass-123' });
    // The same credentials in the URL.
    const inUrl = await use.bridge({ nats: [nats.url.replace('nats://', 'nats://pagecall:right-pass-123@')], node: 'auth-3' });
    await until(() => inUrl.clusterStatus()?.nats === 'connected', 'credentials in the URL to be accepted');

    const wrong = await use.bridge({ nats: [nats.url], node: 'auth-wrong', natsUser: 'pagecall', natsPass: 'wrong-pass-456' });
    const status = await refused(wrong);
    assert.equal(status.nats, 'connecting');
    assert.match(status.error, /authorization/i);
    assert.doesNotMatch(JSON.stringify(status), /wrong-pass-456|right-pass-123/);
    const health = await getJson(`${wrong.url}/health`);
    assert.deepEqual([health.body.ok, health.body.cluster.nats], [true, 'connecting']);
  });

  test('a token joins; a missing one is refused', async (t) => {
    const use = cleanupFor(t);
    const nats = use.add(await startNatsServer(['--auth', 'nats-token-0123456789']), 'nats-server');
    await callAcross(use, { nats: [nats.url], natsToken: 'nats-token-0123456789' });
    const missing = await use.bridge({ nats: [nats.url], node: 'auth-none' });
    assert.match((await refused(missing)).error, /authorization/i);
  });
});

describe('a NATS server that requires TLS', () => {
  test('nodes that trust its CA join over TLS and calls go through; a node that does not is refused', async (t) => {
    const use = cleanupFor(t);
    const dir = mkdtempSync(join(tmpdir(), 'pagecall-nats-tls-'));
    use.defer(() => rmSync(dir, { recursive: true, force: true }), 'the certificates');
    const at = (f: string): string => join(dir, f);
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=pagecall test CA');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
    writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '2', '-extfile', at('san.ext'));
    const nats = use.add(await startNatsServer(['--tls', '--tlscert', at('server.pem'), '--tlskey', at('server.key')]), 'nats-server');
    const tlsUrl = nats.url.replace('nats://', 'tls://');

    const { one } = await callAcross(use, { nats: [tlsUrl], natsTlsCa: at('ca.pem') });
    assert.equal(one.clusterStatus()?.nats, 'connected');
    const untrusting = await use.bridge({ nats: [tlsUrl], node: 'tls-untrusting' });
    assert.match((await refused(untrusting)).error, /certificate/i);
  });
});
