// A real smart-HTTP git server for tests: node:http in front of `git http-backend` (CGI).
// Unlike git-http-mock-server it keeps what is pushed, so push tests see their own commits.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface GitServer {
  /** http://127.0.0.1:PORT; a repo `${root}/NAME.git` is at `${url}/NAME.git`. */
  url: string;
  /** Folder of bare repos. */
  root: string;
  /** Stop listening and drop open connections: the remote becomes unreachable. */
  stop(): Promise<void>;
  /** Listen again on the same port after stop(). */
  start(): Promise<void>;
  /** Stop, and remove the root folder when the server created it. */
  close(): Promise<void>;
}

export interface GitServerOptions {
  /** Folder of bare repos; a new temporary folder when omitted. */
  root?: string;
  /** When set, every request needs HTTP Basic auth whose password (or user name) is this token. */
  token?: string;
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? (await mkdtemp(path.join(os.tmpdir(), 'mooring-git-server-')));
  const server = http.createServer((req, res) => {
    if (opts.token !== undefined && !authorized(req, opts.token)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="mooring-test"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    runBackend(root, req, res);
  });

  let port = 0;
  let listening = false;
  const start = async (): Promise<void> => {
    if (listening) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    listening = true;
  };
  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    // Keep-alive connections would otherwise keep answering: drop them so the remote is really gone.
    server.closeAllConnections();
    await closed;
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    root,
    start,
    stop,
    close: async () => {
      await stop();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

function authorized(req: http.IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  // Like GitHub: the token may be the password (any user name) or the user name itself.
  return password === token || user === token;
}

/** Run one request through `git http-backend` as a CGI script. */
function runBackend(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // The developer's own git config must not change what the server does.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // Pushes are refused over HTTP without an authenticated user unless receive-pack is enabled.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  // Without CONTENT_LENGTH http-backend reads the body until EOF, which is what a chunked body needs.
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  // http-backend inflates gzip'd request bodies itself when told about the encoding.
  if (req.headers['content-encoding'] !== undefined)
    env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.on('error', (err) => {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`git http-backend failed to start: ${err.message}\n`);
  });
  child.on('close', (code) => {
    if (code !== 0 && stderr.length > 0) {
      console.error(`git http-backend exited ${code}: ${Buffer.concat(stderr).toString('utf8')}`);
    }
  });
  // A client that goes away mid-request closes the pipe: that is not the test's failure.
  child.stdin.on('error', () => undefined);
  req.pipe(child.stdin);
  req.on('aborted', () => child.kill());

  // The CGI response starts with headers (ending in a blank line); the rest is the body.
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (end === null) return;
    headersDone = true;
    const { status, reason, headers } = parseCgiHeaders(head.subarray(0, end.index).toString('latin1'));
    res.writeHead(status, reason, headers);
    const rest = head.subarray(end.index + end.length);
    if (rest.length > 0) res.write(rest);
  });
  child.stdout.on('end', () => {
    if (!headersDone) {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend sent no headers: ${Buffer.concat(stderr).toString('utf8')}\n`);
      return;
    }
    res.end();
  });
}

function findHeaderEnd(buf: Buffer): { index: number; length: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf !== -1) return { index: lf, length: 2 };
  return null;
}

function parseCgiHeaders(text: string): {
  status: number;
  reason: string;
  headers: Record<string, string | string[]>;
} {
  let status = 200;
  let reason = 'OK';
  const headers: Record<string, string | string[]> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      // "Status: 404 Not Found"
      const match = /^(\d{3})\s*(.*)$/.exec(value);
      if (match) {
        status = Number(match[1]);
        reason = match[2] || http.STATUS_CODES[status] || '';
      }
      continue;
    }
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return { status, reason, headers };
}
