// Web mode's gatekeeping: one random token per server run, presented on every request, plus Host and
// Origin checks so that other local pages (DNS rebinding, a malicious site poking 127.0.0.1) get nothing.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares without leaking the position of the first difference through timing. */
export function tokensEqual(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Cookie name; includes the port because cookies are shared by every port of a host. */
export function cookieName(port: number): string {
  return `maskroom_token_${port}`;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Where a request presented its token, if it did: `?token=`, `Authorization: Bearer`, or our cookie. */
export function presentedToken(
  req: IncomingMessage,
  port: number,
): { token: string; via: 'query' | 'header' | 'cookie' } | null {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const q = url.searchParams.get('token');
  if (q !== null) return { token: q, via: 'query' };
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer '))
    return { token: auth.slice(7).trim(), via: 'header' };
  const c = parseCookies(req.headers.cookie).get(cookieName(port));
  if (c !== undefined) return { token: decodeURIComponent(c), via: 'cookie' };
  return null;
}

/** Hosts we answer to. Anything else is a DNS-rebinding attempt or a misconfigured proxy. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** True when the Host header names this server. */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return typeof host === 'string' && allowedHosts(port).includes(host.toLowerCase());
}

/**
 * True when the Origin header is absent (non-browser clients, which must still present the token) or
 * one of our own origins. Browsers always send Origin on WebSocket upgrades.
 */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return allowedHosts(port).some((h) => origin === `http://${h}`);
}
