// The built renderer's files, for browser mode. Hand-written rather than `sirv` (issue 10, hole 3
// asked us to consider it): sirv 3.0.2, read in full, has three faults that would each put back the
// bug this file exists to fix. Its single-page fallback tests every path against
// /[/]([A-Za-z\s\d~$._-]+\.\w+){1,}$/, which backtracks exponentially: a 77-character path like
// "/a.aa.aa.a…/" held the event loop for 47 s here, and a longer one for hours. It pipes a
// createReadStream with no 'error' listener, so a file removed after start (an `npm run build` while
// serving) ends the process on the next request for it. And it serves any method. What we need is
// small: a fixed folder, GET and HEAD, our headers, one fallback; every step of it is below.
import { readFile, realpath, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** Vite writes content-hashed names under assets/ only: those may be cached for good. */
const HASHED_DIR = '/assets/';

export function sendText(
  res: http.ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/**
 * The path a request names, decoded, or null when it is not one we could have written: a bad or
 * overlong escape (`%`, `%c0%ae` — decodeURIComponent throws on both, and that throw was an
 * unhandled rejection that ended the process), a NUL or other control character, a backslash, or a
 * `.`/`..` segment, written or escaped (`%2e%2e%2f`). Browsers normalise dot segments before
 * sending, so only a hand-made request carries one; refusing it outright beats resolving it.
 */
export function requestPath(pathname: string): string | null {
  if (!pathname.startsWith('/')) return null; // `*`, or an absolute-form target: we are no proxy
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(decoded)) return null;
  if (decoded.split('/').some((seg) => seg === '.' || seg === '..')) return null;
  return decoded;
}

/** Serves one request from `root` (a real path). Rejects only on a bug; the caller answers 500. */
export async function serveStatic(
  root: string,
  pathname: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const decoded = requestPath(pathname);
  if (decoded === null) {
    sendText(res, 400, 'bad request path');
    return;
  }
  // Client-side routes (no extension in the last segment) all get the app's page.
  const rel = decoded === '/' || !path.posix.extname(decoded) ? '/index.html' : decoded;
  const file = await fileInside(root, rel);
  if (!file) {
    sendText(res, 404, 'not found');
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    // Gone between the look and the read (a rebuild while serving), or unreadable.
    sendText(res, 404, 'not found');
    return;
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': rel.startsWith(HASHED_DIR) ? 'max-age=31536000, immutable' : 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The regular file `rel` names under `root`, links resolved, or null. The containment check runs on
 * the real path, so neither an escape that slipped past requestPath nor a link inside the folder
 * can hand out a file from elsewhere.
 */
async function fileInside(root: string, rel: string): Promise<string | null> {
  const joined = path.join(root, rel);
  if (!joined.startsWith(root + path.sep)) return null;
  try {
    const real = await realpath(joined);
    if (!real.startsWith(root + path.sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}
