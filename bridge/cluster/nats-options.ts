/**
 * The NATS client's connection options from the bridge configuration: servers, credentials
 * (token, user and password, nkey seed file or creds file) and TLS. Files are read here, once, so
 * a wrong path stops the bridge at start with the option named, not at the first reconnect.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { ConfigError, redactUrl, type BridgeConfig } from '../config.js';

function readSecretFile(option: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function checkReadable(option: string, path: string | undefined): void {
  if (path === undefined) return;
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Servers without their credentials, and the credentials a URL carried (`nats://user:pass@host`). */
function splitServers(urls: readonly string[]): { servers: string[]; hosts: string[]; user?: string; pass?: string } {
  const out: { servers: string[]; hosts: string[]; user?: string; pass?: string } = { servers: [], hosts: [] };
  for (const raw of urls) {
    const url = new URL(raw.includes('://') ? raw : `nats://${raw}`);
    if (url.username && out.user === undefined) {
      out.user = decodeURIComponent(url.username);
      if (url.password) out.pass = decodeURIComponent(url.password);
    }
    out.servers.push(`${url.protocol === 'tls:' ? 'tls' : 'nats'}://${url.host}`);
    out.hosts.push(url.hostname.replace(/^\[|\]$/g, ''));
  }
  return out;
}

/** Whether the configuration asks for TLS to NATS. */
export function wantsTls(config: BridgeConfig): boolean {
  return config.natsTls || config.natsTlsCa !== undefined || config.natsTlsCert !== undefined || config.nats.some((u) => u.startsWith('tls://'));
}

/**
 * Connection options for this node. Once connected the client reconnects forever (a node keeps
 * serving its own pages meanwhile); the first connection is retried by the cluster itself, so a
 * bridge that closes before NATS was ever reached leaves nothing running. It pings often enough to
 * notice a dead server within seconds, and never receives its own messages (so a node is never
 * handed back the calls it forwards).
 */
export function natsConnectOptions(config: BridgeConfig, nodeName: string): ConnectionOptions {
  const { servers, hosts, user, pass } = splitServers(config.nats);
  const options: ConnectionOptions = {
    servers,
    name: `pagecall ${nodeName}`,
    noEcho: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    reconnectJitter: 500,
    reconnectJitterTLS: 1_000,
    pingInterval: Math.max(2_000, config.clusterHeartbeatMs * 2),
    maxPingOut: 3,
    timeout: 5_000,
    noAsyncTraces: true,
  };
  if (config.natsToken !== undefined) options.token = config.natsToken;
  else if (config.natsUser !== undefined) {
    options.user = config.natsUser;
    options.pass = config.natsPass!;
  } else if (config.natsNkey !== undefined) {
    const seed = new TextDecoder().decode(readSecretFile('natsNkey', config.natsNkey)).trim();
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (config.natsCreds !== undefined) {
    options.authenticator = credsAuthenticator(readSecretFile('natsCreds', config.natsCreds));
  } else if (user !== undefined) {
    if (pass === undefined) options.token = user;
    else {
      options.user = user;
      options.pass = pass;
    }
  }
  if (wantsTls(config)) {
    checkReadable('natsTlsCa', config.natsTlsCa);
    checkReadable('natsTlsCert', config.natsTlsCert);
    checkReadable('natsTlsKey', config.natsTlsKey);
    const tls: NonNullable<ConnectionOptions['tls']> = {};
    if (config.natsTlsCa !== undefined) tls.caFile = config.natsTlsCa;
    if (config.natsTlsCert !== undefined) tls.certFile = config.natsTlsCert;
    if (config.natsTlsKey !== undefined) tls.keyFile = config.natsTlsKey;
    // The client upgrades a connection to a server given by IP address without a server name, and
    // Node then checks the certificate against "localhost": check it against the configured
    // addresses too (it must still be signed by a trusted CA).
    const identity = (host: string, cert: PeerCertificate): Error | undefined => {
      const problem = checkServerIdentity(host, cert);
      if (!problem || hosts.some((h) => checkServerIdentity(h, cert) === undefined)) return undefined;
      return problem;
    };
    options.tls = Object.assign(tls, { checkServerIdentity: identity });
  }
  return options;
}

/** The servers as safe to show (no credentials). */
export function shownServers(config: BridgeConfig): string[] {
  return config.nats.map(redactUrl);
}
