// The Docker engine goes away while the controller is applying a sync, and comes back. The shared
// dockerd is never touched (other tests use it): the controller talks to it through a loopback proxy,
// and the test cuts the proxy (every connection dropped, the socket gone) as a restart would.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { EventLog, SLOW_STACK, UNIQUE, waitFor } from '../helpers/controller.ts';
import { startDockerProxy, type DockerProxy } from '../helpers/docker-proxy.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

// Other sessions may run these tests at the same time against the same engine.
const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED controller engine-restart test: no Docker engine answers.');

describe.skipIf(!haveDocker)('controller: the engine restarts during a sync', () => {
  let server: GitServer;
  let proxy: DockerProxy;
  let home: string;
  let engine: Engine;
  let controller: Controller | null = null;
  const log = new EventLog();

  beforeAll(async () => {
    await removeStacks(`ctlrestart${S}`);
    server = await startGitServer();
  });
  afterAll(async () => {
    await removeStacks(`ctlrestart${S}`);
    await server.close();
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-ctl-home-'));
    proxy = await startDockerProxy();
    engine = await Engine.open({ home, dockerHost: proxy.endpoint });
  });
  afterEach(async () => {
    await controller?.stop();
    // CTL_DEBUG=1 prints the controller's log, as `mooring watch` would, to see why a test failed.
    if (process.env.CTL_DEBUG) console.log(log.text());
    engine.close();
    await proxy.close();
    await removeStacks(`ctlrestart${S}`);
    await rm(home, { recursive: true, force: true });
  });

  it('records the cut run as failed with the reason, reconnects, converges, and makes no duplicate containers', async () => {
    const repo = await createRepo(server, `ctl-restart-${Date.now()}`, {
      'mooring.yaml': `stacks:\n  ctlrestart${S}: { sync: auto, selfHeal: true }\n`,
      [`ctlrestart${S}/compose.yaml`]: SLOW_STACK,
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    controller = new Controller(engine, {
      pollIntervalMs: 5_000,
      selfHealDebounceMs: 300,
      retryBaseMs: 500,
      reconnectMinMs: 100,
      reconnectMaxMs: 500,
    });
    controller.subscribe(log.listener);
    const stack = (): StackStatus | undefined =>
      controller?.snapshot().stacks.find((s) => s.name === `ctlrestart${S}`);
    await controller.start();

    // Mid-apply: `slow` is created and running, `after` waits for it to become healthy.
    await waitFor('the run waiting on the healthcheck', async () => {
      const runs = engine.history.runs.list({ stack: `ctlrestart${S}` });
      const slow = await docker('ps', '-q', '--filter', `name=^ctlrestart${S}-slow-1$`);
      return runs[0]?.result === 'running' && slow !== '';
    });
    await proxy.cut();

    const failed = await waitFor('the run recorded as failed', () => {
      const [run] = engine.history.runs.list({ stack: `ctlrestart${S}` });
      return run?.result === 'failed' ? run : null;
    });
    expect(failed.trigger).toBe('auto');
    expect(failed.error).toMatch(/Docker engine at unix:.* is unreachable/);
    await waitFor('the engine shown unreachable', () => !controller!.snapshot().engine.reachable);
    expect(controller.snapshot().engine.error).toBeTruthy();
    await waitFor('the status Unknown while it is gone', () => stack()?.sync === 'Unknown');

    // The retry after the failure comes due while the engine is gone, and the controller holds it.
    await log.letBe(
      'the retry due while the engine is gone, and held',
      (e) =>
        e.type === 'wake' && e.stack === `ctlrestart${S}` && !e.facts.running && !e.facts.engineReachable,
    );
    await proxy.restore();
    await waitFor('the engine reachable again', () => controller!.snapshot().engine.reachable);
    await waitFor(
      'converged',
      () => {
        const s = stack();
        return s?.sync === 'Synced' && s.health === 'Healthy';
      },
      30_000,
    );

    const names = (
      await docker(
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=ctlrestart${S}`,
        '--format',
        '{{.Names}}',
      )
    )
      .split('\n')
      .sort();
    expect(names).toEqual([`ctlrestart${S}-after-1`, `ctlrestart${S}-slow-1`]);
    const runs = engine.history.runs.list({ stack: `ctlrestart${S}` }).reverse();
    expect(runs.map((r) => [r.trigger, r.result])).toEqual([
      ['auto', 'failed'],
      ['auto', 'succeeded'],
    ]);
    expect(log.events).toContainEqual(expect.objectContaining({ type: 'engine', reachable: false }));
    expect(log.events).toContainEqual(expect.objectContaining({ type: 'engine', reachable: true }));
    expect(log.text()).toMatch(/is back: looking at every stack again/);
  });
});
