// The engine side of the desktop app (issue 16, item 4): opens the engine and the controller and
// serves the API over a port. Electron runs it in a utility process (./index.ts), so a long sync, a
// large diff or a slow SQLite page never holds the event loop that draws the window; the tests run it
// in a Node worker thread. The browser mode keeps its in-process server (`mooring serve`).
import { ApiService } from '../engine/api-service.ts';
import { HostInit, hostApi, type Port } from '../engine/api-port.ts';
import { Engine } from '../engine/engine.ts';
import { useSqliteBuild } from '../engine/history/native-sqlite.ts';
import { Controller } from '../engine/reconcile/controller.ts';
import { DEFAULT_POLL_INTERVAL_SEC } from '../engine/settings.ts';

/**
 * Serves the API on `port` once the engine is open; a failure to open (an unusable history, a wrong
 * SQLite build) is sent to the main process, which shows it. Resolves when the main process asks it to
 * stop and everything is closed.
 */
export async function runHost(init: unknown, port: Port): Promise<void> {
  const parsed = HostInit.safeParse(init);
  const host = hostApi(port, parsed.success && parsed.data.secrets);
  let engine: Engine | null = null;
  try {
    if (!parsed.success) throw new Error(`The engine process was started wrongly: ${parsed.error.message}`);
    useSqliteBuild(parsed.data.sqlite);
    const e = (engine = await Engine.open({ home: parsed.data.home }));
    const service = new ApiService(e, {
      createController: (x, options) =>
        new Controller(x, {
          pollIntervalMs: (x.settings.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC) * 1000,
          ...options,
        }),
      secrets: host.secrets ?? undefined,
    });
    const served = host.serve(service, async () => {
      await service.stop();
      e.close();
    });
    await service.start();
    await served;
  } catch (err) {
    engine?.close();
    host.fail(err);
  }
}
