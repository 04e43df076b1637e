// 11. Pushes (issue 12): what one change costs the UI with 1,000 services (100 stacks of 10, declared in
// git) in browser mode. A stack is suspended and resumed from a second client; the page's WebSocket
// frames give the bytes pushed for it, and the renderer's `mooring:push-applied` measure the time from
// the message's arrival (before parsing) to React's commit. The full snapshot the page loads on connect
// (and on a resync) is measured the same way (`mooring:snapshot-applied`): before issue 12, every push
// was one of those.
import { chromium, type Browser, type Page } from '@playwright/test';
import path from 'node:path';
import WebSocket from 'ws';
import playwrightConfig from '../../playwright.config.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import { startServe, type ServeProcess } from '../helpers/serve.ts';
import {
  busyboxCompose,
  check,
  mooring,
  ms,
  percentile,
  progress,
  removeDir,
  sleep,
  spread,
  stackName,
  stats,
  table,
  tempDir,
  track,
  type BenchOutput,
  type Size,
} from './lib.ts';
import { ensureRendererBuilt } from './ui.ts';

const PLAN: Record<Size, { stacks: number; perStack: number; changes: number }> = {
  full: { stacks: 100, perStack: 10, changes: 20 },
  small: { stacks: 5, perStack: 2, changes: 2 },
};

const LAUNCH = playwrightConfig.use?.launchOptions ?? {};

/**
 * This benchmark at full size on ebe46db, the last commit where every push was the whole snapshot
 * (load 10.8 on 2 cores): kept to compare with, as that code is gone.
 */
const BEFORE = { bytes: 231.0 * 1024, medianMs: 99, maxMs: 390, n: 40 };

/** The latest measure of that name, as the store keeps it (one at a time). */
async function measure(page: Page, name: string): Promise<{ startTime: number; duration: number } | null> {
  return page.evaluate<{ startTime: number; duration: number } | null>(
    `(() => { const m = performance.getEntriesByName(${JSON.stringify(name)}).at(-1); return m ? { startTime: m.startTime, duration: m.duration } : null; })()`,
  );
}

/** A second client of the API, as the page is one: same origin, same token. */
async function apiClient(app: ServeProcess): Promise<{
  call: (method: string, params: unknown) => Promise<unknown>;
  close: () => void;
}> {
  const ws = new WebSocket(`${app.origin.replace('http', 'ws')}/api?token=${app.token}`, {
    origin: app.origin,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('error', reject);
  });
  let next = 1;
  const pending = new Map<number, (reply: unknown) => void>();
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { id?: number; reply?: unknown };
    if (typeof msg.id === 'number') pending.get(msg.id)?.(msg.reply);
  });
  return {
    call: (method, params) =>
      new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => {
      ws.close();
    },
  };
}

const kb = (bytes: number): string =>
  bytes < 10_000 ? `${bytes.toLocaleString('en')} B` : `${(bytes / 1024).toFixed(1)} KiB`;

export async function push(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const services = plan.stacks * plan.perStack;
  await ensureRendererBuilt(size);
  const dir = await tempDir('push');
  const server = await startGitServer();
  const home = path.join(dir, 'home');
  const names: string[] = [];
  const files: Record<string, string> = {};
  for (let i = 0; i < plan.stacks; i++) {
    const name = stackName(`push${String(i + 1).padStart(3, '0')}`);
    names.push(name);
    files[`${name}/compose.yaml`] = busyboxCompose({ services: plan.perStack });
  }
  const repo = await createRepo(server, `${stackName('push')}-config`, files);
  let browser: Browser | undefined;
  let app: ServeProcess | undefined;
  const snapshotBytes: number[] = [];
  const snapshotApply: number[] = [];
  const pushBytes: number[] = [];
  const pushApply: number[] = [];
  const changePainted: number[] = [];
  const changeArrived: number[] = [];
  const snapshotCall: number[] = [];
  try {
    await mooring(home, ['source', 'add', 'bench', repo.url]);
    app = await startServe(home, { timeoutMs: 60_000 });
    track(app.child);
    browser = await chromium.launch(LAUNCH);
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    const frames: { text: string; bytes: number }[] = [];
    page.on('websocket', (ws) => {
      ws.on('framereceived', ({ payload }) => {
        const text = typeof payload === 'string' ? payload : payload.toString('utf8');
        frames.push({ text, bytes: Buffer.byteLength(text) });
      });
    });
    await page.goto(app.url);
    await page.waitForSelector('[data-stack]', { timeout: 30_000 });
    const shown = await page.locator('[data-stack]').count();
    if (shown !== plan.stacks) throw new Error(`the overview shows ${shown} of ${plan.stacks} stacks`);
    const reply = frames.find((f) => f.text.startsWith('{"id"') && f.text.includes('"stacks"'));
    const loaded = await measure(page, 'mooring:snapshot-applied');
    if (reply) snapshotBytes.push(reply.bytes);
    if (loaded) snapshotApply.push(loaded.duration);

    const client = await apiClient(app);
    const origin = await page.evaluate<number>('performance.timeOrigin');
    try {
      // Let the controller's first round of pushes (its start, the first fetch) pass.
      await sleep(2000);
      for (let t = 0; t < plan.changes; t++) {
        const stack = names[t % names.length]!;
        for (const value of [true, false]) {
          const before = (await measure(page, 'mooring:push-applied'))?.startTime ?? -1;
          frames.length = 0;
          const sentAt = Date.now();
          await client.call('stacks:suspend', { stack, suspended: value });
          const deadline = Date.now() + 10_000;
          let applied = await measure(page, 'mooring:push-applied');
          while (!applied || applied.startTime === before) {
            if (Date.now() > deadline) throw new Error(`no push applied for ${stack} in 10 s`);
            await sleep(20);
            applied = await measure(page, 'mooring:push-applied');
          }
          // From the second client's request to the page painting it: the painted measure of the same
          // push (its start is the message's arrival), in the epoch time both processes share.
          let painted = await measure(page, 'mooring:push-painted');
          while (painted?.startTime !== applied.startTime) {
            if (Date.now() > deadline) throw new Error(`the push for ${stack} was not painted`);
            await sleep(5);
            painted = await measure(page, 'mooring:push-painted');
          }
          changePainted.push(origin + painted.startTime + painted.duration - sentAt);
          changeArrived.push(origin + painted.startTime - sentAt);
          // Coalesced pushes land within 100 ms; wait that out so every frame of this change is counted.
          await sleep(300);
          const pushed = frames.filter((f) => f.text.startsWith('{"event"'));
          pushBytes.push(pushed.reduce((n, f) => n + f.bytes, 0) / Math.max(1, pushed.length));
          pushApply.push(applied.duration);
        }
      }
      // The server's side of a snapshot: `app:snapshot` asked by the second client, round trip (the
      // engine's status from the controller, the sources, each stack's last run and revision, JSON).
      for (let r = 0; r < plan.changes; r++) {
        const t0 = performance.now();
        await client.call('app:snapshot', {});
        snapshotCall.push(performance.now() - t0);
      }
    } finally {
      client.close();
    }
    progress(`push: ${kb(stats(pushBytes).median)} per push, applied in ${spread(pushApply)}`);
    progress(`push: a change painted ${spread(changePainted)} after it was asked for`);
    progress(`push: … of which until its push arrived in the page ${spread(changeArrived)}`);
    progress(`push: app:snapshot round trip ${spread(snapshotCall)}`);
  } finally {
    await browser?.close();
    await app?.stop();
    await server.close();
    await removeDir(repo.work);
    await removeDir(dir);
  }
  const pb = stats(pushBytes);
  const pa = stats(pushApply);
  const cp = stats(changePainted);
  const cp95 = percentile(changePainted, 95);
  const sb = stats(snapshotBytes);
  const sa = stats(snapshotApply);
  const sc = stats(snapshotCall);
  const section = `## 11. Pushes: one change with ${services.toLocaleString('en')} services

\`mooring serve\` with ${plan.stacks} stacks of ${plan.perStack} services (declared in git, not deployed), one page open in
headless Chromium. One stack is suspended, then resumed, ${plan.changes} times each from a second client; the page's
WebSocket frames give the bytes, the renderer's \`performance.measure\` the time from the message's arrival (before
parsing) to React's commit. The full snapshot is what the page loads on connect or resync; before issue 12 every
push was one.

${table(
  ['what', 'bytes', 'renderer: arrival → commit'],
  [
    [`full snapshot (connect, resync), n=${sb.n}`, kb(sb.median), ms(sa.median)],
    [
      `before issue 12 (ebe46db): push for one changed stack, the whole snapshot, n=${BEFORE.n}`,
      kb(BEFORE.bytes),
      `${ms(BEFORE.medianMs)} median, ${ms(BEFORE.maxMs)} max`,
    ],
    [
      `push for one changed stack, n=${pa.n}`,
      `${kb(pb.median)} median, ${kb(pb.max)} max`,
      `${ms(pa.median)} median, ${ms(pa.max)} max`,
    ],
  ],
)}

A change end to end: from the second client sending \`stacks:suspend\` to the page having painted the push
(the task after the next animation frame), n=${cp.n}: ${ms(cp.median)} median, ${ms(cp95)} p95, ${ms(cp.max)} max; of
that, until the push arrived in the page (the server's part): ${ms(stats(changeArrived).median)} median, ${ms(percentile(changeArrived, 95))} p95.

The server's side: \`app:snapshot\` asked by a second client (WebSocket round trip, the snapshot built
and serialized), n=${sc.n}: ${ms(sc.median)} median, ${ms(sc.max)} max.
`;
  return {
    id: 'push',
    title: 'Pushes',
    section,
    numbers: {
      'push bytes (B)': pushBytes,
      'push apply': pushApply,
      'change painted': changePainted,
      'change arrived': changeArrived,
      'snapshot bytes (B)': snapshotBytes,
      'snapshot apply': snapshotApply,
      'app:snapshot round trip': snapshotCall,
    },
    targets: [
      check(
        `a push for one changed stack of ${services} services`,
        'smaller than the snapshot',
        `${kb(pb.median)} vs ${kb(sb.median)}`,
        pb.median < sb.median,
      ),
      check(
        `one stack's change painted in the page, ${services} services, p95 (issue 14)`,
        '≤ 50 ms',
        ms(cp95),
        cp95 <= 50,
      ),
    ],
  };
}
