// `mooring serve` (browser mode) in a child process with its own home folder, as the e2e tests and the
// UI benchmark run it: resolves once it printed its URL with the access token.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';

const CLI = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');

export interface ServeProcess {
  url: string;
  origin: string;
  token: string;
  home: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited within 15 s. */
  stop(): Promise<void>;
}

export async function startServe(
  home: string,
  opts: { env?: NodeJS.ProcessEnv; logFile?: string; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, '--home', home, 'serve'], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (opts.logFile) {
    // Everything the server prints, for a failure's post-mortem.
    const log = createWriteStream(opts.logFile);
    child.stdout.pipe(log);
    child.stderr.pipe(log);
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`mooring serve printed no URL in ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mooring serve exited (${code}):\n${output}`));
    });
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    token: u.hash.replace('#token=', ''),
    home,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
