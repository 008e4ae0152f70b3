import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, DEFAULTS, configSummary, envName, redactConfig, resolveConfig } from '../../bridge/config.js';

describe('configuration', () => {
  test('defaults are safe: loopback, no eval, 30 s deadline', () => {
    const config = resolveConfig();
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.allowEval, false);
    assert.equal(config.timeoutMs, 30_000);
    assert.ok(Object.isFrozen(config));
  });

  test('environment overrides defaults and options override environment', () => {
    const env = { PAGECALL_PORT: '9000', PAGECALL_TIMEOUT_MS: '1234', PAGECALL_ALLOW_EVAL: 'true', PAGECALL_ALLOW_ORIGINS: 'https://a.test, https://b.test' };
    const fromEnv = resolveConfig({}, env);
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.timeoutMs, 1234);
    assert.equal(fromEnv.allowEval, true);
    assert.deepEqual(fromEnv.allowOrigins, ['https://a.test', 'https://b.test']);
    assert.equal(resolveConfig({ port: 9100 }, env).port, 9100);
  });

  test('bad values are refused with the variable or field named', () => {
    assert.throws(() => resolveConfig({}, { PAGECALL_PORT: 'eighty' }), /PAGECALL_PORT: expected a whole number/);
    assert.throws(() => resolveConfig({}, { PAGECALL_ALLOW_EVAL: 'maybe' }), /PAGECALL_ALLOW_EVAL: expected true or false/);
    assert.throws(() => resolveConfig({ port: 70000 }), /port/);
    assert.throws(() => resolveConfig({ balance: 'random' as never }), /balance/);
    assert.throws(() => resolveConfig({ timeoutMs: 10, maxTimeoutMs: 5 }), /larger than maxTimeoutMs/);
    assert.throws(() => resolveConfig({ token: 'short' }), /at least 16/);
  });

  test('refuses to listen beyond loopback without a token, and says why', () => {
    assert.throws(() => resolveConfig({ host: '0.0.0.0' }), (e: Error) => e instanceof ConfigError && /without a token/.test(e.message) && /--token/.test(e.message));
    assert.equal(resolveConfig({ host: '0.0.0.0', token: 'x'.repeat(16) }).host, '0.0.0.0');
    assert.equal(resolveConfig({ host: 'localhost' }).host, 'localhost');
  });

  test('the token comes from the options before the environment, and from a value before a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagecall-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, 'from-the-file-0123456789\nsecond line ignored\n');
      assert.equal(resolveConfig({ tokenFile: file }).token, 'from-the-file-0123456789');
      assert.equal(resolveConfig({}, { PAGECALL_TOKEN_FILE: file }).token, 'from-the-file-0123456789');
      assert.equal(resolveConfig({ token: 'from-the-option-0123456789', tokenFile: file }).token, 'from-the-option-0123456789');
      assert.equal(resolveConfig({ tokenFile: file }, { PAGECALL_TOKEN: 'from-the-environment-0123' }).token, 'from-the-file-0123456789');
      assert.equal(resolveConfig({}, { PAGECALL_TOKEN: 'from-the-environment-0123', PAGECALL_TOKEN_FILE: file }).token, 'from-the-environment-0123');
      assert.throws(() => resolveConfig({ tokenFile: join(dir, 'missing') }), /tokenFile: cannot read .*missing: ENOENT/);
      writeFileSync(file, 'short\n');
      assert.throws(() => resolveConfig({ tokenFile: file }), /token: must be at least 16 characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('request timeouts are checked against each other', () => {
    assert.equal(resolveConfig().headersTimeoutMs, 10_000);
    assert.equal(resolveConfig().requestTimeoutMs, 60_000);
    assert.throws(() => resolveConfig({ headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }), /headersTimeoutMs \(20000\) is larger than requestTimeoutMs \(10000\)/);
  });

  test('redacts the token for logging', () => {
    assert.equal(redactConfig(resolveConfig({ token: 'y'.repeat(20) })).token, '[redacted]');
  });

  test('env names follow the option names', () => {
    assert.equal(envName('maxBodyBytes'), 'PAGECALL_MAX_BODY_BYTES');
    assert.ok(Object.keys(DEFAULTS).includes('maxBodyBytes'));
  });

  const summaries: Array<{ name: string; options: Parameters<typeof resolveConfig>[0]; summary: string }> = [
    { name: 'defaults', options: {}, summary: 'token off, eval off, pages need the page key' },
    { name: 'a token, never its value', options: { token: 's'.repeat(20) }, summary: 'token required, eval off, pages need the page key' },
    { name: 'eval on', options: { allowEval: true }, summary: 'token off, eval on, pages need the page key' },
    { name: 'open pages, said in words', options: { openPages: true }, summary: 'token off, eval off, pages OPEN to any website (--open-pages)' },
    { name: 'changed settings as flags, lists joined', options: { timeoutMs: 5_000, allowOrigins: ['https://a.example', 'https://b.example'] }, summary: 'token off, eval off, pages need the page key; --timeout-ms=5000 --allow-origins=https://a.example,https://b.example' },
    { name: 'host, port and log format are left to the URL and the line itself', options: { port: 0, host: 'localhost', logFormat: 'json', logLevel: 'debug' }, summary: 'token off, eval off, pages need the page key; --log-level=debug' },
  ];
  for (const c of summaries) {
    test(`the one-line startup summary: ${c.name}`, () => {
      assert.equal(configSummary(resolveConfig(c.options)), c.summary);
    });
  }
});
