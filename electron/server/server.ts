// Browser mode: the built renderer and the API over a WebSocket, on 127.0.0.1 only.
// Anything on this machine can connect to a loopback port, and any web page the user visits can
// try, so the socket demands a random token (in the URL we print, never in a file) and an Origin
// that is this server's own (a foreign page's WebSocket carries its own Origin), and every request
// must name this server in its Host (DNS rebinding). Other tabs of the same browser session get in
// with the session the first tab exchanged its token for (request-guard.ts, sessionCookieName).
//
// The process also runs the controller, so no input may end it (issue 10, hole 3): every handler is
// guarded, sync and async; every socket has an 'error' listener (http's own through 'clientError',
// upgraded sockets, each WebSocket); a message has a size limit with a clear close code.
// test/integration/server-fuzz.test.ts throws the hostile inputs at a real one.
import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ApiError, Reply } from '../shared/api.ts';
import type { ApiClient, ApiService } from '../engine/api-service.ts';
import {
  DEFAULT_RATE_LIMIT,
  WrongTokenLimiter,
  allowedHosts,
  allowedOrigins,
  bearerToken,
  cookieValue,
  isAllowedHost,
  sameToken,
  sessionCookieHeader,
  sessionCookieName,
  splitTarget,
  type RateLimitOptions,
} from './request-guard.ts';
import { SECURITY_HEADERS, sendText, serveStatic } from './static-files.ts';

export interface ServerOptions {
  service: ApiService;
  /** Folder of the built renderer (out/renderer). */
  staticDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** For tests; a random one otherwise. */
  token?: string;
  /** Wrong-token lockout; tests shorten it. */
  rateLimit?: RateLimitOptions;
  /** Where the server reports a lockout or its own failure (stderr for `mooring serve`). Client mistakes are not reported: anyone can make them, as often as they like. */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string; // with the token, to open in a browser
  origin: string;
  token: string;
  close(): Promise<void>;
}

/** Where a page trades the token for the browser session: POST, `Authorization: Bearer TOKEN`. */
export const SESSION_PATH = '/api/session';

/** The largest API call; the renderer's are a few hundred bytes. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
const TOO_BIG_REASON = `Message too large: the limit is ${MAX_MESSAGE_BYTES} bytes.`;
/** Replies queued for a client that stopped reading: past this it is dropped rather than grow memory. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/**
 * Each connection holds a file descriptor, and the engine needs its own for git, Docker and SQLite;
 * a local process opening thousands must run out of ours, not theirs.
 */
const MAX_CONNECTIONS = 256;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  // The browser session's two halves (request-guard.ts): new with every server, like the token.
  const session = {
    cookie: randomBytes(24).toString('base64url'),
    key: randomBytes(24).toString('base64url'),
  };
  const log = opts.log ?? ((): void => undefined);
  // Real path once, so containment checks compare like with like.
  const root = await realpath(opts.staticDir);
  const limiter = new WrongTokenLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT);
  // Short header and request timeouts: a half-sent request (slowloris) holds a connection only briefly.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 });
  server.maxConnections = MAX_CONNECTIONS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hosts = allowedHosts(port);
  const origins = allowedOrigins(port);
  const cookieName = sessionCookieName(port);
  const rateLimit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;

  /** A wrong credential (token, or session cookie and key) counts towards the lockout. */
  const wrongCredential = (given: string | null): void => {
    if (!limiter.recordFailure(given)) return;
    log(
      `browser mode: ${rateLimit.maxFailures} different wrong access tokens within ${rateLimit.windowMs / 1000} s; ` +
        `refusing new connections for ${rateLimit.lockMs / 1000} s. Something on this machine may be guessing the token.`,
    );
  };

  // After listen, 'error' is an accept failure (EMFILE): worth saying, never worth dying for.
  server.on('error', (err) => {
    log(`browser mode: ${err.message}`);
  });
  wss.on('error', (err) => {
    log(`browser mode: ${err.message}`);
  });

  server.on('request', (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      log(`browser mode: ${req.method ?? '?'} failed: ${errorText(err)}`);
      failResponse(res);
    });
  });

  // async, so that a throw anywhere inside becomes the rejection handled above.
  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!isAllowedHost(req.headers.host, hosts)) {
      // 421 Misdirected Request (RFC 9110 §15.5.20), not 403: nothing is wrong with who asks, the
      // request names a host this server does not serve (a rebound DNS name, a proxy's guess).
      sendText(res, 421, `This server answers only to 127.0.0.1:${port} and localhost:${port}.`);
      return;
    }
    const { pathname } = splitTarget(req.url);
    if (pathname === SESSION_PATH) exchangeSession(req, res);
    else await serveStatic(root, pathname, req, res);
  }

  // The token for the browser session: the same checks as the WebSocket's, in the same order.
  function exchangeSession(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // a body is not read, only drained
    const noStore = { 'Cache-Control': 'no-store' };
    if (req.method !== 'POST') {
      sendText(res, 405, 'Method not allowed.', { ...noStore, Allow: 'POST' });
      return;
    }
    // A foreign page may POST here (a form, fetch no-cors): its Origin says so. Without one, refused too.
    if (!origins.has(req.headers.origin ?? '')) {
      sendText(res, 403, 'Forbidden.', noStore);
      return;
    }
    const verdict = limiter.check();
    if (!verdict.allowed) {
      sendText(res, 429, 'Too many wrong access tokens; try again later.', {
        ...noStore,
        'Retry-After': String(verdict.retryAfterSec),
      });
      return;
    }
    const given = bearerToken(req.headers.authorization);
    if (!sameToken(given, token)) {
      wrongCredential(given);
      sendText(res, 401, 'Wrong access token.', noStore);
      return;
    }
    const body = JSON.stringify({ key: session.key });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      ...noStore,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Set-Cookie': sessionCookieHeader(cookieName, session.cookie),
    });
    res.end(body);
  }

  // A request http's parser refused (bad request line, huge headers, a timeout, a reset). With this
  // listener the socket is ours to answer and close; Node's own default is the model.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => {
      socket.destroy();
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // http stops listening for errors on a socket it hands over: a reset from the client would
    // otherwise be an unhandled 'error'. ws adds its own once it takes the socket.
    socket.on('error', () => {
      socket.destroy();
    });
    try {
      upgrade(req, socket, head);
    } catch (err) {
      log(`browser mode: upgrade failed: ${errorText(err)}`);
      socket.destroy();
    }
  });

  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: string, extra = ''): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`, () => {
        socket.destroy();
      });
    };
    // Same order of checks as a browser's request would fail them; the credentials come last, so that
    // only a request that could have come from our own page spends a try of the rate limit. A foreign
    // page's WebSocket carries our session cookie too (SameSite counts every port of 127.0.0.1 as one
    // site): its Origin is what refuses it.
    if (!isAllowedHost(req.headers.host, hosts)) {
      refuse('421 Misdirected Request'); // see handleRequest for why 421
      return;
    }
    const { pathname, query } = splitTarget(req.url);
    if (pathname !== '/api') {
      refuse('404 Not Found');
      return;
    }
    if (!origins.has(req.headers.origin ?? '')) {
      refuse('403 Forbidden');
      return;
    }
    const verdict = limiter.check();
    if (!verdict.allowed) {
      refuse('429 Too Many Requests', `Retry-After: ${verdict.retryAfterSec}\r\n`);
      return;
    }
    // The token, or else both halves of the browser session: the cookie and the key.
    const given = query.get('token');
    const cookie = cookieValue(req.headers.cookie, cookieName);
    const key = query.get('key');
    const viaToken = sameToken(given, token);
    const viaSession = sameToken(cookie, session.cookie) && sameToken(key, session.key);
    if (!viaToken && !viaSession) {
      // All that was presented, as one value: distinct guesses count, a stale tab repeating its own does not.
      const nothing = given === null && cookie === null && key === null;
      wrongCredential(nothing ? null : JSON.stringify([given, cookie, key]));
      refuse('401 Unauthorized');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      attach(ws, opts.service, log);
    });
  }

  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    origin: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        wss.close(() => {
          resolve();
        });
      });
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A request whose handler failed: a 500 if nothing was sent yet, else the connection is cut. */
function failResponse(res: http.ServerResponse): void {
  try {
    if (res.headersSent) res.destroy();
    else sendText(res, 500, 'internal error');
  } catch {
    res.destroy();
  }
}

type ParsedCall =
  | { ok: true; id: number; method: string; params: unknown }
  | { ok: false; id: number | null; message: string };

const SHAPE = 'expected a JSON text message {id, method, params}';

/** Any bytes a client may send, to a call or to the reason it is not one. Never throws. */
export function parseCall(data: RawData, isBinary: boolean): ParsedCall {
  if (isBinary) return { ok: false, id: null, message: SHAPE };
  const text = Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { ok: false, id: null, message: `not JSON; ${SHAPE}` };
  }
  // `null`, `1`, `[]` parse too: reading `.id` of null threw inside ws's data handler and ended the process.
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return { ok: false, id: null, message: SHAPE };
  }
  const { id, method, params } = msg as Record<string, unknown>;
  const numericId = typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
  if (numericId === null || typeof method !== 'string') return { ok: false, id: numericId, message: SHAPE };
  return { ok: true, id: numericId, method, params };
}

/** One client: requests `{id, method, params}` get `{id, reply}`; pushed events go out as `{event}`. */
function attach(ws: WebSocket, service: ApiService, log: (line: string) => void): void {
  // ws reports every protocol fault a client causes (an oversize message, bad UTF-8, a bad frame)
  // as 'error' after closing with the matching code. Without a listener that ended the process; the
  // close already told the client, and a stranger's mistakes are not worth a line on stderr.
  ws.on('error', () => undefined);
  // ws closes an oversize message with a bare 1009; the client's console should say what the limit is.
  // It closes through the instance's close(), so an own property is the one place to add the reason.
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer): void => {
    close(code, reason ?? (code === 1009 ? TOO_BIG_REASON : undefined));
  };

  const send = (msg: { id: number | null; reply: Reply<unknown> } | { event: unknown }): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate(); // it stopped reading; it can reconnect and fetch a fresh snapshot
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(msg);
    } catch (err) {
      log(`browser mode: a reply could not be encoded: ${errorText(err)}`);
      if (!('id' in msg)) return;
      text = JSON.stringify({ id: msg.id, reply: internalError() });
    }
    ws.send(text);
  };
  const fail = (id: number | null, message: string): void => {
    send({ id, reply: { ok: false, error: { code: 'invalid-input', message } } });
  };

  const unsubscribe = service.subscribe((event) => {
    send({ event });
  });
  // This connection's own pushes (its log streams), which end with it.
  const client: ApiClient = {
    push: (event) => {
      send({ event });
    },
  };
  ws.on('close', () => {
    unsubscribe();
    service.release(client);
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const call = parseCall(data, isBinary);
    if (!call.ok) {
      fail(call.id, call.message);
      return;
    }
    service.handle(call.method, call.params, client).then(
      (reply) => {
        send({ id: call.id, reply });
      },
      (err: unknown) => {
        // handle() turns every failure into a reply; reaching here is a bug, still not a crash.
        log(`browser mode: ${call.method} failed: ${errorText(err)}`);
        send({ id: call.id, reply: internalError() });
      },
    );
  });
}

function internalError(): Reply<never> {
  const error: ApiError = { code: 'internal', message: 'Mooring failed to answer this call; see its log.' };
  return { ok: false, error };
}
