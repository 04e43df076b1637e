// Browser mode under hostile input (issue 10, hole 3 and "rate-limit wrong tokens"). The server runs
// as `mooring serve` builds it — a real Engine in a temp home, a real ApiService with its controller,
// startServer — in a child process, so that "it crashed" is a process that exited, as it would be
// for a user. Each input that ended the process before the fix is its own test; a test that finds
// the process dead starts a fresh one for the next, so each fails on its own.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBrowserModeServer, type BrowserModeServer } from '../helpers/browser-mode-server.ts';
import type { RateLimitOptions } from '../../electron/server/request-guard.ts';

const INDEX_MARKER = 'MOORING-FUZZ-INDEX';
const ASSET = '/assets/app-3f9a1c.js';
const SECRET = `MOORING-FUZZ-SECRET-${randomBytes(8).toString('hex')}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** High enough that no batch below trips it: the rate limit has its own server and test. */
const NO_LOCKOUT: RateLimitOptions = { maxFailures: 1_000_000, windowMs: 1000, lockMs: 1 };

let base: string;
let staticDir: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mooring-fuzz-'));
  staticDir = path.join(base, 'renderer');
  await mkdir(path.join(staticDir, 'assets'), { recursive: true });
  await writeFile(path.join(staticDir, 'index.html'), `<!doctype html><title>${INDEX_MARKER}</title>`);
  await writeFile(path.join(staticDir, ASSET), 'console.log("app");');
  // What traversal would be after: a file beside the folder, one in a sibling whose name starts
  // like it (a prefix check without the separator lets it through), and a link pointing out.
  await writeFile(path.join(base, 'secret.txt'), SECRET);
  await writeFile(path.join(base, 'secret.js'), SECRET);
  await mkdir(path.join(base, 'renderer2'));
  await writeFile(path.join(base, 'renderer2', 'secret.js'), SECRET);
  await symlink(path.join(base, 'secret.txt'), path.join(staticDir, 'assets', 'link.js'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function start(rateLimit: RateLimitOptions = NO_LOCKOUT): Promise<BrowserModeServer> {
  const home = await mkdtemp(path.join(base, 'home-'));
  return startBrowserModeServer({ home, staticDir, rateLimit });
}

interface RawResponse {
  status: number | null; // null: the connection closed or timed out without a status line
  head: string;
  text: string;
}

/**
 * Sends bytes as they are (no client library would send most of these) and reads what comes back,
 * until the server closes, a whole response has arrived, or the timeout.
 */
function raw(port: number, bytes: string | Buffer, opts: { timeoutMs?: number; halfClose?: boolean } = {}) {
  return new Promise<RawResponse>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, head: text.split('\r\n\r\n')[0] ?? '', text });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 3000);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (/^HTTP\/1\.1 101/.test(text) || (length && text.length - end - 4 >= Number(length[1]))) finish();
    });
    socket.on('connect', () => {
      if (opts.halfClose) socket.end(bytes);
      else socket.write(bytes);
    });
  });
}

function get(port: number, target: string, headers: Record<string, string> = {}): string {
  const all = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

function upgrade(
  s: BrowserModeServer,
  target: string,
  opts: { host?: string | null; origin?: string | null; extra?: string } = {},
): string {
  const host = opts.host === undefined ? `127.0.0.1:${s.port}` : opts.host;
  const origin = opts.origin === undefined ? s.origin : opts.origin;
  return (
    `GET ${target} HTTP/1.1\r\n` +
    (host === null ? '' : `Host: ${host}\r\n`) +
    'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    (origin === null ? '' : `Origin: ${origin}\r\n`) +
    (opts.extra ?? '') +
    '\r\n'
  );
}

/** The server answers a plain GET / with the app, and its process is still running. */
async function expectHealthy(s: BrowserModeServer): Promise<void> {
  const r = await raw(s.port, get(s.port, '/'));
  expect(r.status, `GET / after the batch; server output:\n${s.output()}`).toBe(200);
  expect(r.text).toContain(INDEX_MARKER);
  expect(s.alive(), s.output()).toBe(true);
}

function expectNoSecret(r: RawResponse, what: string): void {
  expect(r.text.includes(SECRET), `${what} returned a file from outside staticDir`).toBe(false);
}

async function openWs(s: BrowserModeServer, token = s.token): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api?token=${encodeURIComponent(token)}`, {
    origin: s.origin,
  });
  ws.on('error', () => undefined); // a close after an oversize send may surface as EPIPE here
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`upgrade refused: ${res.statusCode ?? '?'}`));
    });
    ws.once('close', () => {
      reject(new Error('closed before open'));
    });
  });
  return ws;
}

function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/** The next reply (pushed events skipped), or null if the socket closes first or in 5 s. */
function nextReply(ws: WebSocket): Promise<{ id: unknown; reply: { ok: boolean } } | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      done(null);
    }, 5000);
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(textOf(data)) as { id?: unknown; reply?: { ok: boolean }; event?: unknown };
      if (msg.reply) done({ id: msg.id, reply: msg.reply });
    };
    const onClose = (): void => {
      done(null);
    };
    const done = (v: { id: unknown; reply: { ok: boolean } } | null): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(v);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString() });
    });
  });
}

describe('browser mode: inputs that ended the process', () => {
  let server: BrowserModeServer;

  /** The server, started anew if the previous test's input ended it (so each case fails alone). */
  async function live(): Promise<BrowserModeServer> {
    // Asked, not assumed: a process that just crashed may not have been reaped yet.
    const probe = server.alive() ? await raw(server.port, get(server.port, '/'), { timeoutMs: 2000 }) : null;
    if (probe?.status !== 200) {
      await server.stop();
      server = await start();
    }
    return server;
  }

  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('GET /% (a bad escape: decodeURIComponent threw in an async handler)', async () => {
    const s = await live();
    const r = await raw(s.port, get(s.port, '/%'));
    expect(r.status, s.output()).toBe(400);
    await expectHealthy(s);
  });

  it('GET /%c0%ae%c0%ae/x.js (overlong UTF-8 for "..")', async () => {
    const s = await live();
    const r = await raw(s.port, get(s.port, '/%c0%ae%c0%ae/x.js'));
    expect(r.status, s.output()).toBe(400);
    await expectHealthy(s);
  });

  it('an upgrade request to //[ (new URL threw inside the upgrade handler)', async () => {
    const s = await live();
    const r = await raw(s.port, upgrade(s, '//['));
    expect(r.status, s.output()).toBe(404);
    await expectHealthy(s);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    '<img src="http://127.0.0.1:PORT/%"> on a foreign web page, in Chromium',
    async () => {
      const s = await live();
      // The foreign page: another origin, as any site the user visits would be.
      const page = `<!doctype html><script>
        window.done = Promise.all([
          new Promise((r) => { const i = new Image(); i.onload = i.onerror = () => r('img'); i.src = '${s.origin}/%'; }),
          fetch('${s.origin}/%c0%ae%c0%ae/x.js', { mode: 'no-cors' }).then(() => 'fetch', () => 'fetch'),
          new Promise((r) => { const w = new WebSocket('ws://127.0.0.1:${s.port}//['); w.onclose = () => r('ws'); }),
          new Promise((r) => { const w = new WebSocket('ws://127.0.0.1:${s.port}/api?token=guess'); w.onclose = () => r('ws2'); }),
        ]);
      </script>`;
      const evil = http.createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
      });
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const tab = await browser.newPage();
        await tab.goto(`http://127.0.0.1:${(evil.address() as net.AddressInfo).port}/`);
        expect(await tab.evaluate(() => (window as unknown as { done: Promise<string[]> }).done)).toEqual([
          'img',
          'fetch',
          'ws',
          'ws2',
        ]);
      } finally {
        await browser.close();
        evil.close();
      }
      await expectHealthy(s);
    },
  );

  it('an authenticated 2 MB WebSocket message (ws emitted "error" with no listener)', async () => {
    const s = await live();
    const ws = await openWs(s);
    const closed = closeOf(ws);
    ws.send('x'.repeat(2 * 1024 * 1024));
    const { code, reason } = await closed;
    await expectHealthy(s);
    expect(code).toBe(1009);
    expect(reason).toMatch(/too large.*1048576 bytes/i);
  });

  it('an authenticated message `null` (reading .id of null threw inside ws)', async () => {
    const s = await live();
    const ws = await openWs(s);
    const reply = nextReply(ws);
    ws.send('null');
    const answer = await reply;
    await expectHealthy(s);
    expect(answer).toMatchObject({ id: null, reply: { ok: false } });
    ws.close();
  });
});

describe('browser mode: fuzzing the HTTP and WebSocket surface', () => {
  let s: BrowserModeServer;

  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('still serves the app: headers, client-side routes, immutable assets', async () => {
    const index = await raw(s.port, get(s.port, '/'));
    expect(index.status).toBe(200);
    expect(index.head).toMatch(/content-security-policy: default-src 'self'/i);
    expect(index.head).toMatch(/x-content-type-options: nosniff/i);
    expect(index.head).toMatch(/cache-control: no-cache/i);
    const route = await raw(s.port, get(s.port, '/stacks/web?tab=history'));
    expect(route.status).toBe(200);
    expect(route.text).toContain(INDEX_MARKER);
    const asset = await raw(s.port, get(s.port, ASSET));
    expect(asset.status).toBe(200);
    expect(asset.head).toMatch(/cache-control: max-age=31536000, immutable/i);
    expect(asset.head).toMatch(/content-type: text\/javascript/i);
    expect((await raw(s.port, get(s.port, '/assets/missing.js'))).status).toBe(404);
    const head = await raw(s.port, get(s.port, '/').replace(/^GET/, 'HEAD'));
    expect(head.status).toBe(200);
    expect(head.text).not.toContain(INDEX_MARKER);
    const post = await raw(s.port, get(s.port, '/').replace(/^GET/, 'POST'));
    expect(post.status).toBe(405);
  });

  it('malformed HTTP: bad request lines, huge headers, bad escapes, NULs; and traversal never leaves staticDir', async () => {
    const p = s.port;
    // [what, bytes, the answer: a status, or null where Node itself just closes the connection]
    const cases: [string, string | Buffer, number | null][] = [
      ['garbage request line', 'GARBAGE\r\n\r\n', 400],
      ['method only', 'GET\r\n\r\n', 400],
      ['HTTP/0.9', 'GET /\r\n\r\n', 421],
      ['unknown version', `GET / HTTP/9.9\r\nHost: 127.0.0.1:${p}\r\n\r\n`, 400],
      ['space in target', `GET /a b HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`, 400],
      ['NUL in request line', `GET /\0 HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`, 400],
      [
        'raw 0xff bytes in target',
        Buffer.concat([
          Buffer.from('GET /'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`),
        ]),
        400,
      ],
      ['one 100 KB header', get(p, '/', { 'X-Big': 'a'.repeat(100_000) }), 431],
      [
        '3000 headers',
        get(p, '/', Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`X-${i}`, 'v']))),
        431,
      ],
      ['a 64 KB target', get(p, `/${'a'.repeat(64 * 1024)}`), 431],
      ['header without colon', `GET / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nNoColon\r\n\r\n`, 400],
      ['NUL in header', `GET / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nX: a\0b\r\n\r\n`, 400],
      [
        'negative Content-Length',
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: -1\r\n\r\n`,
        400,
      ],
      [
        'CL and TE together',
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
        400,
      ],
      [
        'bad chunk',
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n`,
        405,
      ],
      [
        'body promised, never sent',
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 99999999\r\n\r\nab`,
        405,
      ],
      ['OPTIONS *', `OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`, 405],
      ['CONNECT', `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`, null],
      ['TRACE', get(p, '/').replace(/^GET/, 'TRACE'), 405],
      ['PROPFIND', get(p, '/').replace(/^GET/, 'PROPFIND'), 405],
      ['absolute-form target', get(p, `http://127.0.0.1:${p}/../secret.txt`), 400],
      ['relative target', get(p, '../secret.txt'), 400],
    ];
    const escapes = [
      '/%',
      '/%zz',
      '/%%',
      '/a%',
      '/%e0%a4',
      '/%ff',
      '/%u002e',
      '/%c0%af',
      '/%e0%80%ae',
      '/%00',
      '/index.html%00.js',
      '/%0d%0aSet-Cookie:x=1',
      '/%7f',
    ];
    const traversal = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/..%2f..%2fsecret.txt',
      '/%2e%2e%5csecret.txt',
      '/..\\secret.txt',
      '/assets\\..\\..\\secret.txt',
      '/.%2e/secret.js',
      '/%252e%252e/secret.txt',
      '/./../secret.js',
      '//secret.txt',
      '/../renderer2/secret.js',
      '/..%2frenderer2%2fsecret.js',
      '/assets/link.js',
      '/assets/%2e%2e/%2e%2e/secret.js',
      `/${base}/secret.txt`,
      `/${encodeURIComponent(path.join(base, 'secret.txt'))}`,
    ];
    for (const [what, bytes, status] of cases) {
      const r = await raw(p, bytes, { timeoutMs: 1500 });
      expectNoSecret(r, what);
      expect(r.status, what).toBe(status);
    }
    // Node keeps the first of two Host headers; the second must not be the one checked.
    const twoHosts = await raw(p, `GET / HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1:${p}\r\n\r\n`, {
      halfClose: true,
    });
    expect(twoHosts.status).toBe(421);
    await expectHealthy(s);
    for (const target of escapes) {
      const r = await raw(p, get(p, target));
      expect(r.status, target).toBe(400);
    }
    await expectHealthy(s);
    for (const target of traversal) {
      const r = await raw(p, get(p, target));
      expectNoSecret(r, target);
      expect([400, 404], target).toContain(r.status);
    }
    await expectHealthy(s);
  });

  it('upgrades with bad paths, origins, hosts, tokens and handshakes are refused, and a reset mid-upgrade is harmless', async () => {
    const t = s.token;
    const refused: [string, string, number][] = [
      ['path //[', upgrade(s, '//['), 404],
      ['path /%', upgrade(s, `/%?token=${t}`), 404],
      ['path /api%', upgrade(s, `/api%?token=${t}`), 404],
      ['path /API', upgrade(s, `/API?token=${t}`), 404],
      ['path /api/../api', upgrade(s, `/api/../api?token=${t}`), 404],
      ['path *', upgrade(s, '*'), 404],
      ['absolute-form', upgrade(s, `http://127.0.0.1:${s.port}/api?token=${t}`), 404],
      ['no Origin', upgrade(s, `/api?token=${t}`, { origin: null }), 403],
      ['Origin null', upgrade(s, `/api?token=${t}`, { origin: 'null' }), 403],
      ['foreign Origin', upgrade(s, `/api?token=${t}`, { origin: 'http://evil.example' }), 403],
      ['lookalike Origin', upgrade(s, `/api?token=${t}`, { origin: `${s.origin}.evil.example` }), 403],
      ['other port Origin', upgrade(s, `/api?token=${t}`, { origin: 'http://127.0.0.1:1' }), 403],
      ['https Origin', upgrade(s, `/api?token=${t}`, { origin: `https://127.0.0.1:${s.port}` }), 403],
      ['foreign Host', upgrade(s, `/api?token=${t}`, { host: `evil.example:${s.port}` }), 421],
      ['Host without port', upgrade(s, `/api?token=${t}`, { host: '127.0.0.1' }), 421],
      ['Host with a trailing dot', upgrade(s, `/api?token=${t}`, { host: `localhost.:${s.port}` }), 421],
      ['Host [::1]', upgrade(s, `/api?token=${t}`, { host: `[::1]:${s.port}` }), 421],
      ['empty Host', upgrade(s, `/api?token=${t}`, { host: '' }), 421],
      ['no token', upgrade(s, '/api'), 401],
      ['empty token', upgrade(s, '/api?token='), 401],
      ['wrong token', upgrade(s, '/api?token=guess'), 401],
      ['token plus one char', upgrade(s, `/api?token=${t}x`), 401],
      ['token with a bad escape', upgrade(s, `/api?token=${t}%`), 401],
      ['token with %00', upgrade(s, `/api?token=${t}%00`), 401],
      ['8 KB token', upgrade(s, `/api?token=${'a'.repeat(8192)}`), 401],
      ['token in a second parameter', upgrade(s, `/api?token=guess&token=${t}`), 401],
      ['missing key', upgrade(s, `/api?token=${t}`).replace(/Sec-WebSocket-Key: .*\r\n/, ''), 400],
      ['bad version', upgrade(s, `/api?token=${t}`).replace('Version: 13', 'Version: 99'), 400],
      ['Upgrade: h2c', upgrade(s, `/api?token=${t}`).replace('Upgrade: websocket', 'Upgrade: h2c'), 400],
    ];
    for (const [what, bytes, status] of refused) {
      const r = await raw(s.port, bytes);
      expect(r.status, what).toBe(status);
    }
    await expectHealthy(s);
    // Accepted, then the client vanishes in every way it can.
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(s.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(upgrade(s, `/api?token=${t}`));
      await new Promise((r) => setTimeout(r, i % 4 === 0 ? 0 : 20));
      if (i % 2 === 0) socket.resetAndDestroy();
      else socket.destroy();
    }
    // Half an upgrade, then a reset.
    for (let i = 0; i < 10; i++) {
      const socket = net.connect(s.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(upgrade(s, `/api?token=${t}`).slice(0, 40 + i * 10));
      await new Promise((r) => setTimeout(r, 10));
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    await expectHealthy(s);
  });

  it('WebSocket messages with the right token: non-JSON, wrong shapes, binary, bad UTF-8, oversize', async () => {
    const ws = await openWs(s);
    const bad = [
      '',
      'not json',
      '{',
      'null',
      '1',
      '"text"',
      '[]',
      '[1,2]',
      '{}',
      '{"id":"1","method":"app:snapshot"}',
      '{"id":1}',
      '{"id":1,"method":5}',
      '{"id":1.5,"method":"app:snapshot"}',
      '{"id":1e400,"method":"app:snapshot"}',
      '{"id":null,"method":"app:snapshot"}',
      '{"__proto__":{"id":1,"method":"app:snapshot"}}',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    ];
    for (const text of bad) {
      const reply = nextReply(ws);
      ws.send(text);
      const r = await reply;
      expect(r, text.slice(0, 40)).not.toBeNull();
      expect(r!.reply.ok, text.slice(0, 40)).toBe(false);
    }
    const refusedByService = [
      '{"id":2,"method":"nope"}',
      '{"id":3,"method":"__proto__"}',
      '{"id":4,"method":"constructor"}',
      '{"id":5,"method":"toString"}',
      '{"id":6,"method":"history:runs","params":{"limit":"all"}}',
      '{"id":7,"method":"history:runs","params":{"limit":1,"sql":"DROP TABLE runs"}}',
      '{"id":8,"method":"history:runs","params":"x"}',
      '{"id":9,"method":"history:run","params":{"id":{"$gt":0}}}',
    ];
    for (const text of refusedByService) {
      const reply = nextReply(ws);
      ws.send(text);
      const r = await reply;
      expect(r, text).toMatchObject({ id: (JSON.parse(text) as { id: number }).id, reply: { ok: false } });
    }
    const binary = nextReply(ws);
    ws.send(Buffer.from('{"id":10,"method":"app:snapshot"}'), { binary: true });
    expect(await binary).toMatchObject({ id: null, reply: { ok: false } });
    // A burst: every call answered, in any order.
    const ids = new Set<unknown>();
    const all = new Promise<void>((resolve) => {
      ws.on('message', (d: WebSocket.RawData) => {
        const m = JSON.parse(textOf(d)) as { id?: unknown; reply?: unknown };
        if (m.reply) ids.add(m.id);
        if (ids.size === 300) resolve();
      });
    });
    for (let i = 0; i < 300; i++)
      ws.send(JSON.stringify({ id: 1000 + i, method: 'history:runs', params: { limit: 1 } }));
    await all;
    ws.close();

    // Text frames must be UTF-8: ws closes with 1007, and the process stays up.
    const bad8 = await openWs(s);
    const closed8 = closeOf(bad8);
    bad8.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await closed8).code).toBe(1007);

    // Just over the limit, and far over it.
    for (const size of [1024 * 1024 + 1, 8 * 1024 * 1024]) {
      const big = await openWs(s);
      const closed = closeOf(big);
      big.send(Buffer.alloc(size, 0x20), { binary: false });
      const { code, reason } = await closed;
      expect(code, String(size)).toBe(1009);
      expect(reason).toMatch(/limit is 1048576 bytes/);
    }
    // Exactly at the limit is a message, not a close.
    const edge = await openWs(s);
    const edgeReply = nextReply(edge);
    edge.send(`{"id":1,"method":"history:runs","params":{"limit":1}}`.padEnd(1024 * 1024, ' '));
    expect(await edgeReply).toMatchObject({ id: 1, reply: { ok: true } });
    edge.close();
    await expectHealthy(s);
    // And a good client still works after all of it.
    const good = await openWs(s);
    const reply = nextReply(good);
    good.send(JSON.stringify({ id: 42, method: 'history:runs', params: { limit: 1 } }));
    expect(await reply).toEqual({ id: 42, reply: { ok: true, value: [] } });
    good.close();
  });

  it('a few hundred randomized requests and upgrades', async () => {
    // Seeded, so a failure can be replayed: the seed is in the test name's output on failure.
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    let state = seed;
    const rand = (n: number): number => {
      // mulberry32
      state = (state + 0x6d2b79f5) | 0;
      let x = Math.imul(state ^ (state >>> 15), 1 | state);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand(xs.length))]!;
    const pieces = [
      '..',
      '.',
      '%',
      '%2e',
      '%2f',
      '%5c',
      '%00',
      '%c0%ae',
      '%ff',
      '%e2%80',
      '\\',
      'assets',
      'index.html',
      'x.js',
      'secret.txt',
      'secret.js',
      'renderer2',
      '//',
      '?',
      '#',
      'token=',
      '%%',
      '~',
      'é',
      'api',
      ';',
      '%0a',
      '*',
      '@',
    ];
    // Mostly well-framed, so that most inputs reach our handlers rather than stop in Node's parser.
    const usually = <T>(common: T, odd: readonly T[]): T => (rand(10) < 7 ? common : pick(odd));
    const methods = ['HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'G\0T', '', 'GET GET'];
    const versions = ['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', ''];
    const hosts = [`localhost:${s.port}`, 'evil.example', `127.0.0.1:${s.port + 1}`, '', null];
    const requests: Buffer[] = [];
    const halfClosed = new Set<Buffer>();
    for (let i = 0; i < 400; i++) {
      let target = '/';
      const n = Math.floor(rand(7));
      for (let j = 0; j < n; j++) target += pick(pieces) + (rand(2) < 1 ? '/' : '');
      if (rand(8) < 1) target = `/api?token=${rand(2) < 1 ? s.token : pick(pieces)}`;
      const host = usually<string | null>(`127.0.0.1:${s.port}`, hosts);
      let headers = host === null ? '' : `Host: ${host}\r\n`;
      if (rand(3) < 1) {
        headers += 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n';
        if (rand(4) < 3) headers += 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
        headers += `Origin: ${pick([s.origin, 'http://evil.example', 'null', ''])}\r\n`;
      }
      if (rand(10) < 1) headers += `X-Junk: ${randomBytes(Math.floor(rand(64))).toString('latin1')}\r\n`;
      if (rand(20) < 1) headers += `X-Big: ${'b'.repeat(20_000 + Math.floor(rand(20_000)))}\r\n`;
      const line = `${usually('GET', methods)} ${target} ${usually('HTTP/1.1', versions)}`;
      const tail = rand(10) < 1 ? '' : '\r\n'; // now and then, a request that never ends
      const bytes = Buffer.from(`${line}\r\n${headers}${tail}`, 'latin1');
      requests.push(bytes);
      if (tail === '' || rand(5) < 1) halfClosed.add(bytes);
    }
    const statuses = new Map<string, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const bytes = requests[next++]!;
        // Half-closing makes Node drop the answer to a complete request (it aborts what is pending on
        // EOF), so only some requests do: the rest are read back and checked for the secret.
        const r = await raw(s.port, bytes, { timeoutMs: 1000, halfClose: halfClosed.has(bytes) });
        expectNoSecret(r, `seed ${seed}: ${bytes.toString('latin1').slice(0, 80)}`);
        const key = String(r.status);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(s.alive(), `seed ${seed}\n${s.output()}`).toBe(true);
    await expectHealthy(s);
    // Not an assertion, a look: which answers the random inputs got.
    console.log(`fuzz seed ${seed}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});

describe('browser mode: Host check (DNS rebinding)', () => {
  let s: BrowserModeServer;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('serves only 127.0.0.1:PORT and localhost:PORT', async () => {
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `LOCALHOST:${s.port}`]) {
      expect((await raw(s.port, get(s.port, '/', { Host: host }))).status, host).toBe(200);
    }
    for (const host of [
      `evil.example:${s.port}`,
      'evil.example',
      '127.0.0.1',
      `127.0.0.1:${s.port + 1}`,
      `127.0.0.1:${s.port}.evil.example`,
      `localhost.:${s.port}`,
      `[::1]:${s.port}`,
      `0.0.0.0:${s.port}`,
      '',
    ]) {
      const r = await raw(s.port, get(s.port, '/', { Host: host }));
      expect(r.status, `Host: ${host}`).toBe(421);
      expect(r.text).not.toContain(INDEX_MARKER);
    }
    // HTTP/1.0 may leave Host out entirely.
    const noHost = await raw(s.port, 'GET / HTTP/1.0\r\n\r\n');
    expect(noHost.status).toBe(421);
    // A rebound page's WebSocket: right token (say it leaked), right Origin shape, wrong Host.
    const rebound = await raw(
      s.port,
      upgrade(s, `/api?token=${s.token}`, {
        host: `evil.example:${s.port}`,
        origin: `http://evil.example:${s.port}`,
      }),
    );
    expect(rebound.status).toBe(421);
    const hostOnly = await raw(
      s.port,
      upgrade(s, `/api?token=${s.token}`, { host: `evil.example:${s.port}` }),
    );
    expect(hostOnly.status).toBe(421);
    const viaLocalhost = await raw(
      s.port,
      upgrade(s, `/api?token=${s.token}`, {
        host: `localhost:${s.port}`,
        origin: `http://localhost:${s.port}`,
      }),
    );
    expect(viaLocalhost.status).toBe(101);
    await expectHealthy(s);
  });
});

describe('browser mode: wrong tokens are rate-limited', () => {
  const limit: RateLimitOptions = { maxFailures: 5, windowMs: 10_000, lockMs: 1500 };
  let s: BrowserModeServer;
  beforeAll(async () => {
    s = await start(limit);
  });
  afterAll(async () => {
    await s.stop();
  });

  const attempt = async (token: string): Promise<RawResponse> =>
    raw(s.port, upgrade(s, `/api?token=${encodeURIComponent(token)}`));

  it('locks out new connections after distinct wrong tokens, then lets the right one in again', async () => {
    const held = await openWs(s);
    // A stale tab repeats one wrong token forever: that alone never locks anyone out.
    for (let i = 0; i < 3 * limit.maxFailures; i++) expect((await attempt('stale-token')).status).toBe(401);
    expect((await attempt(s.token)).status).toBe(101);

    // A guesser's distinct tokens do ("stale-token" is one of them, still in the window).
    for (let i = 1; i < limit.maxFailures; i++) expect((await attempt(`guess-${i}`)).status).toBe(401);
    const locked = await attempt('guess-next');
    expect(locked.status).toBe(429);
    expect(locked.head).toMatch(/retry-after: [12]\r?$/im);
    // The right token too: a guess made during the lockout must not be able to succeed.
    expect((await attempt(s.token)).status).toBe(429);
    // An open connection is untouched, and the page itself still loads.
    const heldReply = nextReply(held);
    held.send(JSON.stringify({ id: 7, method: 'history:runs', params: { limit: 1 } }));
    expect(await heldReply).toMatchObject({ id: 7, reply: { ok: true } });
    held.close();
    await expectHealthy(s);
    expect(s.output()).toMatch(
      /5 different wrong access tokens within 10 s; refusing new connections for 1.5 s/,
    );

    await new Promise((r) => setTimeout(r, limit.lockMs + 200));
    expect((await attempt(s.token)).status).toBe(101);
    const ws = await openWs(s);
    const reply = nextReply(ws);
    ws.send(JSON.stringify({ id: 1, method: 'history:runs', params: { limit: 1 } }));
    expect(await reply).toMatchObject({ id: 1, reply: { ok: true } });
    ws.close();
    // Origin and Host failures are not token guesses and cost nothing.
    for (let i = 0; i < 3 * limit.maxFailures; i++) {
      expect(
        (await raw(s.port, upgrade(s, `/api?token=g${i}`, { origin: 'http://evil.example' }))).status,
      ).toBe(403);
    }
    expect((await attempt(s.token)).status).toBe(101);
  });
});

// Issue 13, item 11: a second tab of the same browser gets in with the session its first tab
// exchanged the token for: an HttpOnly session cookie plus a key kept in the page's localStorage.
// The cookie alone is not enough (a browser sends it to every port of 127.0.0.1), and neither
// replaces the Host, Origin and rate-limit checks.
function exchange(
  s: BrowserModeServer,
  opts: { token?: string | null; origin?: string | null; host?: string; method?: string } = {},
): string {
  const token = opts.token === undefined ? s.token : opts.token;
  const origin = opts.origin === undefined ? s.origin : opts.origin;
  return (
    `${opts.method ?? 'POST'} /api/session HTTP/1.1\r\nHost: ${opts.host ?? `127.0.0.1:${s.port}`}\r\n` +
    (origin === null ? '' : `Origin: ${origin}\r\n`) +
    (token === null ? '' : `Authorization: Bearer ${token}\r\n`) +
    'Content-Length: 0\r\nConnection: close\r\n\r\n'
  );
}

interface Session {
  cookie: string; // NAME=VALUE, as a browser sends it back
  key: string;
}

async function openSession(s: BrowserModeServer): Promise<Session> {
  const r = await raw(s.port, exchange(s));
  expect(r.status, r.text).toBe(200);
  const setCookie = /\r\nset-cookie: *([^\r\n]*)/i.exec(r.head)?.[1] ?? '';
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  return { cookie: setCookie.split(';')[0]!, key: (JSON.parse(body) as { key: string }).key };
}

/** An upgrade with the session's cookie and/or key, and no token. */
function sessionUpgrade(
  s: BrowserModeServer,
  session: { cookie?: string | null; key?: string | null },
  opts: { host?: string | null; origin?: string | null } = {},
): string {
  const target = session.key ? `/api?key=${encodeURIComponent(session.key)}` : '/api';
  return upgrade(s, target, { ...opts, extra: session.cookie ? `Cookie: ${session.cookie}\r\n` : '' });
}

describe('browser mode: the browser session (cookie and key)', () => {
  let s: BrowserModeServer;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('trades the token for an HttpOnly, SameSite=Strict session cookie of this port, and a key', async () => {
    const r = await raw(s.port, exchange(s));
    expect(r.status).toBe(200);
    const setCookie = /\r\nset-cookie: *([^\r\n]*)/i.exec(r.head)?.[1];
    expect(setCookie).toMatch(
      new RegExp(`^mooring_session_${s.port}=[\\w-]{32}; HttpOnly; SameSite=Strict; Path=/$`),
    );
    // A session cookie: it ends with the browser session.
    expect(setCookie).not.toMatch(/max-age|expires/i);
    expect(r.head).toMatch(/\r\ncache-control: no-store/i);
    const { key } = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { key: string };
    expect(key).toMatch(/^[\w-]{32}$/);
    // The cookie is not the token, nor the key.
    expect(setCookie).not.toContain(s.token);
    expect(setCookie).not.toContain(key);
  });

  it('gives no session without the token, to a foreign Origin, to a wrong Host, or to a GET', async () => {
    const refused: [string, string, number][] = [
      ['wrong token', exchange(s, { token: `x${s.token.slice(1)}` }), 401],
      ['no token', exchange(s, { token: null }), 401],
      ['foreign Origin, right token', exchange(s, { origin: 'http://evil.example' }), 403],
      // Same site for cookies (ports do not count), still another origin.
      ['another port of 127.0.0.1', exchange(s, { origin: `http://127.0.0.1:${s.port + 1}` }), 403],
      ['no Origin', exchange(s, { origin: null }), 403],
      ['rebound Host', exchange(s, { host: `evil.example:${s.port}` }), 421],
      ['GET', exchange(s, { method: 'GET' }), 405],
      [
        'token in the query instead',
        exchange(s, { token: null }).replace('/api/session', `/api/session?token=${s.token}`),
        401,
      ],
    ];
    for (const [what, bytes, status] of refused) {
      const r = await raw(s.port, bytes);
      expect(r.status, what).toBe(status);
      expect(r.head, what).not.toMatch(/set-cookie/i);
      expect(r.text, what).not.toMatch(/"key"/);
    }
    await expectHealthy(s);
  });

  it('lets a WebSocket in with the cookie and the key, without the token, only from our Origin and Host', async () => {
    const session = await openSession(s);
    expect((await raw(s.port, sessionUpgrade(s, session))).status).toBe(101);
    expect(
      (
        await raw(
          s.port,
          sessionUpgrade(s, session, { host: `localhost:${s.port}`, origin: `http://localhost:${s.port}` }),
        )
      ).status,
    ).toBe(101);
    // Every check before the credentials still applies, whatever they are.
    const cases: [string, { host?: string | null; origin?: string | null }, number][] = [
      ['foreign Origin', { origin: 'http://evil.example' }, 403],
      [
        'another port of 127.0.0.1 (the browser sends the cookie there)',
        { origin: `http://127.0.0.1:${s.port + 1}` },
        403,
      ],
      ['Origin "null"', { origin: 'null' }, 403],
      ['no Origin', { origin: null }, 403],
      ['rebound Host', { host: `evil.example:${s.port}`, origin: `http://evil.example:${s.port}` }, 421],
      ['no Host', { host: null }, 421],
    ];
    for (const [what, opts, status] of cases) {
      expect((await raw(s.port, sessionUpgrade(s, session, opts))).status, what).toBe(status);
    }
    // And a call goes through on such a connection.
    const [name, value] = session.cookie.split('=') as [string, string];
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api?key=${encodeURIComponent(session.key)}`, {
      origin: s.origin,
      headers: { Cookie: `other=1; ${name}=${value}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`upgrade refused: ${res.statusCode ?? '?'}`));
      });
    });
    const reply = nextReply(ws);
    ws.send(JSON.stringify({ id: 3, method: 'history:runs', params: { limit: 1 } }));
    expect(await reply).toMatchObject({ id: 3, reply: { ok: true } });
    ws.close();
  });

  it('refuses a forged cookie, a forged key, either half alone, and the cookie of another port', async () => {
    const session = await openSession(s);
    const [name, value] = session.cookie.split('=') as [string, string];
    const forged = (v: string): string => `${v.slice(0, -1)}${v.endsWith('A') ? 'B' : 'A'}`;
    const cases: [string, { cookie?: string | null; key?: string | null }][] = [
      ['forged cookie', { cookie: `${name}=${forged(value)}`, key: session.key }],
      ['forged key', { cookie: session.cookie, key: forged(session.key) }],
      ['the cookie alone (what another server on 127.0.0.1 receives)', { cookie: session.cookie, key: null }],
      ['the key alone (left in localStorage after the browser closed)', { cookie: null, key: session.key }],
      [
        "the cookie under another port's name",
        { cookie: `mooring_session_${s.port + 1}=${value}`, key: session.key },
      ],
      ['the token as the cookie', { cookie: `${name}=${s.token}`, key: s.token }],
      ['an empty cookie', { cookie: `${name}=`, key: session.key }],
    ];
    for (const [what, session2] of cases) {
      expect((await raw(s.port, sessionUpgrade(s, session2))).status, what).toBe(401);
    }
    // A new server (a restart) starts a new session: the old cookie and key are refused there.
    const other = await start();
    try {
      const stale = { cookie: `mooring_session_${other.port}=${value}`, key: session.key };
      expect((await raw(other.port, sessionUpgrade(other, stale))).status).toBe(401);
    } finally {
      await other.stop();
    }
    await expectHealthy(s);
  });
});

describe('browser mode: the rate limit covers the session too', () => {
  const limit: RateLimitOptions = { maxFailures: 4, windowMs: 10_000, lockMs: 1500 };
  let s: BrowserModeServer;
  beforeAll(async () => {
    s = await start(limit);
  });
  afterAll(async () => {
    await s.stop();
  });

  it('forged cookies and wrong exchange tokens lock out; during the lockout a valid session is refused too', async () => {
    const session = await openSession(s);
    const [name] = session.cookie.split('=') as [string];
    // One stale tab repeating its cookie and key is not a guesser.
    for (let i = 0; i < 3 * limit.maxFailures; i++) {
      expect((await raw(s.port, sessionUpgrade(s, { cookie: `${name}=stale`, key: 'stale' }))).status).toBe(
        401,
      );
    }
    expect((await raw(s.port, sessionUpgrade(s, session))).status).toBe(101);
    // Distinct forged cookies, and a wrong token at the exchange, are guesses.
    for (let i = 1; i < limit.maxFailures - 1; i++) {
      expect(
        (await raw(s.port, sessionUpgrade(s, { cookie: `${name}=guess-${i}`, key: session.key }))).status,
      ).toBe(401);
    }
    expect((await raw(s.port, exchange(s, { token: 'guess-at-the-exchange' }))).status).toBe(401);
    const locked = await raw(s.port, sessionUpgrade(s, session));
    expect(locked.status).toBe(429);
    expect(locked.head).toMatch(/retry-after: [12]\r?$/im);
    // Neither a valid session nor the token gets in, nor is a session handed out, until it ends.
    expect((await raw(s.port, upgrade(s, `/api?token=${s.token}`))).status).toBe(429);
    expect((await raw(s.port, exchange(s))).status).toBe(429);
    expect(s.output()).toMatch(/4 different wrong access tokens within 10 s/);

    await new Promise((r) => setTimeout(r, limit.lockMs + 200));
    expect((await raw(s.port, sessionUpgrade(s, session))).status).toBe(101);
    await expectHealthy(s);
  });
});
