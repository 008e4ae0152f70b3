/**
 * Who may use the bridge. Tokens are compared in constant time. On loopback without a token the
 * bridge still refuses what a malicious website in the user's own browser could attempt: requests
 * through a rebinding DNS name (Host check) and cross-site requests (Origin / Sec-Fetch-Site).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PagecallError } from '../protocol/index.js';
import { isLoopback, type BridgeConfig } from './config.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time token comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether a page origin may connect, given the allow-list (empty list: any). `*.` matches subdomains. */
export function originAllowed(origin: string | null, allow: readonly string[]): boolean {
  if (allow.length === 0) return true;
  if (!origin) return false;
  return allow.some((pattern) => {
    if (pattern === origin || pattern === '*') return true;
    const star = pattern.indexOf('*.');
    if (star < 0) return false;
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    return origin.startsWith(prefix) && origin.endsWith(suffix) && origin.length > prefix.length + suffix.length;
  });
}

/** The host name of a Host header (`[::1]:80` → `[::1]`, `localhost:1` → `localhost`). */
export function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return (colon >= 0 ? hostHeader.slice(0, colon) : hostHeader).toLowerCase();
}

/** The token a request carries: `Authorization: Bearer …` or `?token=`. */
export function requestToken(req: IncomingMessage, query: URLSearchParams | null): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  return query?.get('token') ?? undefined;
}

/**
 * Checks an API request. Returns the error to answer with, or null when the request may proceed.
 * `query` is only parsed by callers that already have it (GET routes).
 */
export function checkApiAccess(req: IncomingMessage, config: BridgeConfig, query: URLSearchParams | null): PagecallError | null {
  if (isLoopback(config.host)) {
    const host = hostName(req.headers.host ?? '');
    if (!isLoopback(host) && !config.allowHosts.includes(host)) {
      return new PagecallError('FORBIDDEN', `Host ${JSON.stringify(req.headers.host ?? '')} is not served: this bridge listens on loopback and answers only to localhost or 127.0.0.1 (DNS-rebinding guard; add names with --allow-hosts)`);
    }
  }
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if ((site === 'cross-site' || site === 'same-site') || (typeof origin === 'string' && origin !== 'null' && !sameOrigin(origin, req))) {
    return new PagecallError('FORBIDDEN', 'cross-site requests to the API are refused: a website open in your browser must not drive your pages');
  }
  if (origin === 'null') return new PagecallError('FORBIDDEN', 'requests from opaque origins are refused');
  if (config.token !== undefined && !tokenMatches(requestToken(req, query), config.token)) {
    return new PagecallError('UNAUTHORIZED', 'this bridge requires a token: send Authorization: Bearer <token>');
  }
  return null;
}

function sameOrigin(origin: string, req: IncomingMessage): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
