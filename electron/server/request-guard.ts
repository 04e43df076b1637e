// The checks every browser-mode request passes before anything is served: the Host it was sent to,
// the Origin of a WebSocket, the access token, and a limit on wrong tokens. Pure functions and one
// small in-memory class with its clock passed in, so they are tested without a socket.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The names this server answers to. A page on evil.example can re-point its own name at 127.0.0.1
 * (DNS rebinding) and then reach this port as a "same-origin" page; its requests still carry
 * `Host: evil.example:PORT`, so only our own two names are served (issue 10, hole 3).
 */
export function allowedHosts(port: number): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  // A browser leaves the default port out of Host and Origin.
  if (port === 80) for (const h of ['127.0.0.1', 'localhost']) hosts.add(h);
  return hosts;
}

export function allowedOrigins(port: number): Set<string> {
  return new Set([...allowedHosts(port)].map((h) => `http://${h}`));
}

/** Host names are case-insensitive; nothing else about the header is forgiven. */
export function isAllowedHost(host: string | undefined, allowed: Set<string>): boolean {
  return host !== undefined && allowed.has(host.toLowerCase());
}

export function sameToken(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The pieces of a request target, without `new URL()` (which throws on `//[`, and did, inside the
 * upgrade handler) and without decoding the path (the callers decide what a bad escape means).
 * URLSearchParams never throws: a malformed escape in the query stays as written.
 */
export function splitTarget(target: string | undefined): { pathname: string; query: URLSearchParams } {
  const raw = target ?? '/';
  const hash = raw.indexOf('#');
  const noHash = hash === -1 ? raw : raw.slice(0, hash);
  const q = noHash.indexOf('?');
  return {
    pathname: q === -1 ? noHash : noHash.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : noHash.slice(q + 1)),
  };
}

export interface RateLimitOptions {
  /** Distinct wrong tokens within `windowMs` that start a lockout. */
  maxFailures: number;
  windowMs: number;
  /** How long every new connection is refused (429) once locked, the right token included. */
  lockMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { maxFailures: 10, windowMs: 60_000, lockMs: 60_000 };

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterSec: number };

/**
 * Slows down guessing of the access token. The token has 192 random bits, so this is depth, not the
 * defence: it keeps a local process from hammering the upgrade and makes the attempt visible.
 *
 * It counts *distinct* wrong tokens, not attempts: a tab left open from an earlier `mooring serve`
 * reconnects with its stale token every few seconds, forever (renderer/src/api/client.ts), and two
 * such tabs would otherwise lock the user out of the new server. Repeating one wrong token teaches
 * a guesser nothing, so it costs nothing to let it through to its 401.
 *
 * During a lockout the token is not even compared: a guess made then cannot succeed. Open
 * connections are not touched. Memory stays bounded: at most `maxFailures` hashes are kept.
 */
export class WrongTokenLimiter {
  private readonly failures = new Map<string, number>(); // sha256 of the wrong token → last seen
  private lockedUntil = 0;

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  check(): LimitVerdict {
    const now = this.now();
    if (now < this.lockedUntil) {
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((this.lockedUntil - now) / 1000)) };
    }
    return { allowed: true };
  }

  /** Records a wrong (or missing) token; returns true when this one started a lockout. */
  recordFailure(given: string | null): boolean {
    const now = this.now();
    for (const [key, at] of this.failures) if (now - at >= this.opts.windowMs) this.failures.delete(key);
    this.failures.set(
      createHash('sha256')
        .update(given ?? '')
        .digest('hex'),
      now,
    );
    if (this.failures.size < this.opts.maxFailures) return false;
    this.failures.clear();
    this.lockedUntil = now + this.opts.lockMs;
    return true;
  }
}

/**
 * The browser session (issue 13, item 11): a second tab, or a link opened with Ctrl-click, has no
 * token (it lives in the fragment, then in one tab's sessionStorage). At the token exchange the
 * server hands out two secrets, and a WebSocket without the token needs both:
 *
 * - a session cookie (HttpOnly, SameSite=Strict, Path=/, no Max-Age): gone when the browser closes.
 *   But a cookie ignores ports: the browser also sends it to any other server on 127.0.0.1 the
 *   user visits, so on its own it would leak to whatever listens there;
 * - a key kept in localStorage: scoped to this origin, port included, and never sent anywhere by
 *   the browser, but it outlives the browser session.
 *
 * Each is useless without the other: a local server that received the cookie has no key, and a key
 * left in localStorage after the browser closed has no cookie. The Origin, Host and rate-limit checks
 * stay as they are, before either is compared.
 */
export function sessionCookieName(port: number): string {
  // Cookies of every port of 127.0.0.1 share one jar: two `mooring serve` must not overwrite each other's.
  return `mooring_session_${port}`;
}

export function sessionCookieHeader(name: string, value: string): string {
  return `${name}=${value}; HttpOnly; SameSite=Strict; Path=/`;
}

/** One cookie's value from a Cookie header (the first of that name), or null. Never throws. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token of an `Authorization: Bearer TOKEN` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer +([\w-]+)$/.exec(header ?? '');
  return m?.[1] ?? null;
}
