// Browser mode's request checks as pure functions, with a fake clock for the wrong-token limiter.
// The same rules against a real server and real sockets: test/integration/server-fuzz.test.ts.
import { describe, expect, it } from 'vitest';
import {
  WrongTokenLimiter,
  allowedHosts,
  allowedOrigins,
  bearerToken,
  cookieValue,
  isAllowedHost,
  sessionCookieHeader,
  sessionCookieName,
  splitTarget,
} from '../../electron/server/request-guard.ts';
import { parseCall } from '../../electron/server/server.ts';
import { requestPath } from '../../electron/server/static-files.ts';

describe('requestPath', () => {
  it('decodes what a browser sends', () => {
    expect(requestPath('/')).toBe('/');
    expect(requestPath('/assets/index-51MwFZE8.js')).toBe('/assets/index-51MwFZE8.js');
    expect(requestPath('/stacks/my%20app')).toBe('/stacks/my app');
    expect(requestPath('/caf%C3%A9')).toBe('/café');
  });

  it('refuses bad escapes, control characters, backslashes and dot segments, however written', () => {
    for (const p of [
      '/%',
      '/%zz',
      '/%c0%ae%c0%ae/x.js',
      '/%e0%80%ae',
      '/%ff',
      '/%00',
      '/a%0Ab',
      '/%7f',
      '/..',
      '/../x',
      '/a/../../x',
      '/%2e%2e/x',
      '/%2E%2E%2Fx',
      '/.%2e/x',
      '/./x',
      '/a%5c..%5cx',
      '/a\\b',
      '*',
      'http://h/x',
      '',
    ]) {
      expect(requestPath(p), p).toBeNull();
    }
  });

  it('leaves names that only contain dots alone', () => {
    expect(requestPath('/a..b/x.js')).toBe('/a..b/x.js');
    expect(requestPath('/...')).toBe('/...');
  });
});

describe('splitTarget', () => {
  it('never throws, whatever the target', () => {
    expect(splitTarget('//[').pathname).toBe('//[');
    expect(splitTarget('/api?token=%').query.get('token')).toBe('%');
    expect(splitTarget('/api?token=a&token=b').query.get('token')).toBe('a');
    expect(splitTarget('/x#frag?token=t').query.get('token')).toBeNull();
    expect(splitTarget(undefined).pathname).toBe('/');
  });
});

describe('Host and Origin', () => {
  it('allows only our two names with our port', () => {
    const hosts = allowedHosts(4321);
    expect(isAllowedHost('127.0.0.1:4321', hosts)).toBe(true);
    expect(isAllowedHost('LocalHost:4321', hosts)).toBe(true);
    for (const h of [
      undefined,
      '',
      '127.0.0.1',
      '127.0.0.1:4322',
      'evil:4321',
      'localhost.:4321',
      '[::1]:4321',
    ]) {
      expect(isAllowedHost(h, hosts), String(h)).toBe(false);
    }
    expect([...allowedOrigins(4321)].sort()).toEqual(['http://127.0.0.1:4321', 'http://localhost:4321']);
  });

  it('on port 80 a browser leaves the port out', () => {
    expect(isAllowedHost('localhost', allowedHosts(80))).toBe(true);
    expect(allowedOrigins(80).has('http://127.0.0.1')).toBe(true);
  });
});

describe('WrongTokenLimiter', () => {
  const opts = { maxFailures: 3, windowMs: 10_000, lockMs: 5_000 };

  it('locks after distinct wrong tokens within the window, and unlocks after lockMs', () => {
    let now = 1_000_000;
    const limiter = new WrongTokenLimiter(opts, () => now);
    expect(limiter.recordFailure('a')).toBe(false);
    expect(limiter.recordFailure('b')).toBe(false);
    expect(limiter.check()).toEqual({ allowed: true });
    expect(limiter.recordFailure('c')).toBe(true);
    expect(limiter.check()).toEqual({ allowed: false, retryAfterSec: 5 });
    now += 4_001;
    expect(limiter.check()).toEqual({ allowed: false, retryAfterSec: 1 });
    now += 999;
    expect(limiter.check()).toEqual({ allowed: true });
    // The lockout cleared the count: three new guesses are needed to lock again.
    expect(limiter.recordFailure('d')).toBe(false);
  });

  it('does not count one wrong token twice (a stale tab reconnecting)', () => {
    let now = 0;
    const limiter = new WrongTokenLimiter(opts, () => now);
    for (let i = 0; i < 100; i++) {
      now += 100;
      expect(limiter.recordFailure('stale')).toBe(false);
    }
    expect(limiter.recordFailure(null)).toBe(false);
    expect(limiter.check()).toEqual({ allowed: true });
  });

  it('forgets failures older than the window', () => {
    let now = 0;
    const limiter = new WrongTokenLimiter(opts, () => now);
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    now += 10_000;
    expect(limiter.recordFailure('c')).toBe(false);
    expect(limiter.check()).toEqual({ allowed: true });
  });
});

describe('parseCall', () => {
  const text = (s: string): Buffer => Buffer.from(s);

  it('takes {id, method, params}', () => {
    expect(parseCall(text('{"id":1,"method":"app:snapshot","params":{}}'), false)).toEqual({
      ok: true,
      id: 1,
      method: 'app:snapshot',
      params: {},
    });
  });

  it('turns anything else into a reason, keeping a usable id', () => {
    for (const s of [
      '',
      'x',
      'null',
      '1',
      '[]',
      '"s"',
      '{}',
      '{"id":"1","method":"m"}',
      '{"id":1.5,"method":"m"}',
    ]) {
      expect(parseCall(text(s), false).ok, s).toBe(false);
    }
    expect(parseCall(text('{"id":3,"method":7}'), false)).toMatchObject({ ok: false, id: 3 });
    expect(parseCall(text('{"id":1,"method":"m"}'), true)).toMatchObject({ ok: false, id: null });
    expect(parseCall([text('{"id":2,'), text('"method":"m"}')], false)).toMatchObject({ ok: true, id: 2 });
  });
});

describe('the browser session helpers', () => {
  it('reads one cookie of a Cookie header, whatever else it holds, and never throws', () => {
    const name = sessionCookieName(4321);
    expect(name).toBe('mooring_session_4321');
    expect(cookieValue(`a=1; ${name}=abc-DEF_9; b=2`, name)).toBe('abc-DEF_9');
    expect(cookieValue(`${name}=first; ${name}=second`, name)).toBe('first');
    expect(cookieValue(`x${name}=1; ${name}x=2`, name)).toBeNull(); // names match whole
    expect(cookieValue(`mooring_session_4322=other`, name)).toBeNull(); // another port's
    expect(cookieValue(`${name}=`, name)).toBe('');
    for (const header of [undefined, '', ';;;', '=', name, '\u0000=\u0000', 'a'.repeat(10_000)]) {
      expect(() => cookieValue(header, name)).not.toThrow();
    }
  });

  it('sets a session cookie: HttpOnly, SameSite=Strict, Path=/, no Max-Age or Expires', () => {
    expect(sessionCookieHeader('mooring_session_1', 'v')).toBe(
      'mooring_session_1=v; HttpOnly; SameSite=Strict; Path=/',
    );
  });

  it('reads a bearer token, and nothing that only looks like one', () => {
    expect(bearerToken('Bearer abc_DEF-1')).toBe('abc_DEF-1');
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Basic abc',
      'bearer abc',
      'Bearer a b',
      'Bearer a\r\nX: y',
    ]) {
      expect(bearerToken(h), String(h)).toBeNull();
    }
  });
});
