// `mooring serve`: browser mode. The engine, the controller and the API over a WebSocket on
// 127.0.0.1, with the built renderer, until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import { loadEngineSide } from './engine-loader.ts';
import type { Io } from './io.ts';

export const RENDERER_DIR = path.resolve(import.meta.dirname, '../../out/renderer');

export function registerServe(program: Command, open: () => Promise<Engine>, io: Io): void {
  program
    .command('serve')
    .description('browser mode: serve the UI and API on 127.0.0.1 (prints a URL with an access token)')
    .option('--port <port>', 'port to listen on (default: a free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new MooringError('usage', `--port must be 0-65535, got "${v}"`);
      return n;
    })
    .action(async (o: { port?: number }) => {
      if (!existsSync(path.join(RENDERER_DIR, 'index.html'))) {
        throw new MooringError(
          'usage',
          `The UI is not built (${RENDERER_DIR} is missing). Run \`npm run build\` first.`,
        );
      }
      // Loaded here, not with the engine: every other command starts faster without the server and controller.
      const side = await loadEngineSide();
      const [{ ApiService, startServer }, Controller] = await Promise.all([
        side.loadServer(),
        side.loadController(),
      ]);
      const { DEFAULT_POLL_INTERVAL_SEC } = side;
      const engine = await open();
      const service = new ApiService(engine, {
        createController: (e, options) =>
          new Controller(e, {
            pollIntervalMs: (e.settings.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC) * 1000,
            ...options,
          }),
      });
      await service.start();
      const server = await startServer({
        service,
        staticDir: RENDERER_DIR,
        log: io.err,
        ...(o.port !== undefined ? { port: o.port } : {}),
      });
      io.out(
        `Mooring is running in browser mode. Open this URL (it holds the access token, keep it private):\n\n  ${server.url}\n\nPress Ctrl+C to stop.`,
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      io.err('Stopping…');
      await server.close();
      await service.stop();
    });
}
