// Browser mode as `mooring serve` builds it (a real Engine in a home folder, a real ApiService with
// its controller, startServer), in a process of its own, so that a test can see whether an input
// ended it. Run as a child by startBrowserModeServer(); prints one JSON line once it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RateLimitOptions } from '../../electron/server/request-guard.ts';

interface ChildConfig {
  home: string;
  staticDir: string;
  rateLimit?: RateLimitOptions;
}

export interface BrowserModeServer {
  origin: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** Everything the child printed, for a failure's message (a crash's stack trace ends up here). */
  output(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '../..');

export async function startBrowserModeServer(config: ChildConfig): Promise<BrowserModeServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    cwd: ROOT,
    env: { ...process.env, MOORING_BROWSER_MODE_CHILD: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ready = await new Promise<{ origin: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`browser-mode server did not start in 30 s:\n${output}`));
    }, 30_000);
    const onData = (): void => {
      const m = /^READY (\{.*\})$/m.exec(output);
      if (!m?.[1]) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(JSON.parse(m[1]) as { origin: string; token: string });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`browser-mode server exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    ...ready,
    port: Number(new URL(ready.origin).port),
    child,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function runChild(config: ChildConfig): Promise<void> {
  const [{ Engine }, { ApiService }, { Controller }, { startServer }] = await Promise.all([
    import('../../electron/engine/engine.ts'),
    import('../../electron/engine/api-service.ts'),
    import('../../electron/engine/reconcile/controller.ts'),
    import('../../electron/server/server.ts'),
  ]);
  const engine = await Engine.open({ home: config.home });
  const service = new ApiService(engine, {
    createController: (e, options) => new Controller(e, { pollIntervalMs: 60_000, ...options }),
  });
  await service.start();
  const server = await startServer({
    service,
    staticDir: config.staticDir,
    ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`READY ${JSON.stringify({ origin: server.origin, token: server.token })}\n`);
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => service.stop())
      .then(() => {
        engine.close();
      })
      .finally(() => process.exit(0));
  });
}

if (process.env.MOORING_BROWSER_MODE_CHILD && process.argv[1] === SELF) {
  await runChild(JSON.parse(process.env.MOORING_BROWSER_MODE_CHILD) as ChildConfig);
}
