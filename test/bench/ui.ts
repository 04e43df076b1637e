// 8. UI (issue 6): browser mode (`mooring serve`) in Chromium. Time to first render of the overview
// with 1,000 services (100 stacks of 10, declared in git), from navigation start to the renderer's
// `mooring:first-render` mark; and frame timing (requestAnimationFrame deltas) while scrolling the
// History screen through 100,000 runs, which it loads 200 at a time as the list nears its end.
import { chromium, type Browser } from '@playwright/test';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import playwrightConfig from '../../playwright.config.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import { startServe, type ServeProcess } from '../helpers/serve.ts';
import { fillHistory } from './history.ts';
import {
  busyboxCompose,
  check,
  mooring,
  ms,
  percentile,
  progress,
  removeDir,
  ROOT,
  runOk,
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

const PLAN: Record<Size, { stacks: number; perStack: number; runs: number; trials: number; step: number }> = {
  full: { stacks: 100, perStack: 10, runs: 100_000, trials: 5, step: 3000 },
  small: { stacks: 5, perStack: 2, runs: 2_000, trials: 1, step: 3000 },
};

const RENDERER = path.join(ROOT, 'out/renderer/index.html');
/** Chromium as the e2e tests launch it (no browser download is possible here). */
const LAUNCH = playwrightConfig.use?.launchOptions ?? {};

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * `npm run build` when the renderer was never built, or (full size) when its sources are newer than the
 * build. The smoke test takes any build there is: it checks that the benchmark works, not the numbers.
 */
export async function ensureRendererBuilt(size: Size): Promise<void> {
  if (existsSync(RENDERER)) {
    if (size === 'small') return;
    if (statSync(RENDERER).mtimeMs >= newestMtime(path.join(ROOT, 'renderer'))) return;
  }
  progress('ui: building the renderer (npm run build)');
  await runOk('npm', ['run', 'build'], { timeoutMs: 5 * 60_000 });
}

/**
 * In the page: scrolls the History list by `step` px every animation frame until all `target` rows are
 * loaded and the end is reached, recording the time between frames. Kept as source text: a function
 * passed to page.evaluate() would carry the helpers tsx adds to named functions (`__name`), which do
 * not exist in the page.
 */
const SCROLL = `({ step, target, limitMs }) =>
  new Promise((resolve) => {
    const list = document.querySelector('[role="table"][aria-label="Runs"] .virtual');
    const deltas = [];
    const t0 = performance.now();
    let last = t0;
    function frame(now) {
      deltas.push(now - last);
      last = now;
      const rows = Math.round(list.firstElementChild.offsetHeight / 40);
      const max = list.scrollHeight - list.clientHeight;
      const atEnd = list.scrollTop >= max - 1 && rows >= target;
      if (atEnd || now - t0 > limitMs) {
        resolve({ deltas: deltas.slice(1), rows, ms: now - t0, reachedEnd: atEnd });
        return;
      }
      list.scrollTop = Math.min(max, list.scrollTop + step);
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  })`;

/** In the page from its first script on: when the first stack row enters the document. */
const ROWS_SEEN = `new MutationObserver((_, observer) => {
  if (document.querySelector('[data-stack]')) {
    window.__mooringRowsSeen = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });`;

interface ScrollResult {
  deltas: number[];
  rows: number;
  ms: number;
  reachedEnd: boolean;
}

export async function ui(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const services = plan.stacks * plan.perStack;
  await ensureRendererBuilt(size);
  const dir = await tempDir('ui');
  const server = await startGitServer();
  const home = path.join(dir, 'home');
  const files: Record<string, string> = {};
  for (let i = 0; i < plan.stacks; i++) {
    files[`${stackName(`ui${String(i + 1).padStart(3, '0')}`)}/compose.yaml`] = busyboxCompose({
      services: plan.perStack,
    });
  }
  const repo = await createRepo(server, `${stackName('ui')}-config`, files);
  let browser: Browser | undefined;
  let app: ServeProcess | undefined;
  const firstRender: number[] = [];
  let scroll: ScrollResult;
  let usedMark = true;
  try {
    await mooring(home, ['source', 'add', 'bench', repo.url]);
    fillHistory(path.join(home, 'mooring.db'), plan.runs, 1);
    app = await startServe(home, { timeoutMs: 60_000 });
    track(app.child);
    browser = await chromium.launch(LAUNCH);
    for (let t = 0; t < plan.trials; t++) {
      // A new context each time: nothing cached, like opening the URL for the first time.
      const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      await context.addInitScript(ROWS_SEEN);
      const page = await context.newPage();
      await page.goto(app.url);
      // Polled from here (the times are taken in the page): the app's CSP forbids waitForFunction's eval.
      const deadline = Date.now() + 30_000;
      while (!(await page.evaluate<boolean>('window.__mooringRowsSeen !== undefined'))) {
        if (Date.now() > deadline) throw new Error('the overview showed no stack in 30 s');
        await sleep(20);
      }
      // The renderer's mark (React committed the first snapshot); without it (a renderer built before
      // the mark existed), when the stack rows appeared in the document.
      const { mark, rows } = await page.evaluate<{ mark: number | null; rows: number }>(
        `({ mark: performance.getEntriesByName('mooring:first-render')[0]?.startTime ?? null, rows: window.__mooringRowsSeen })`,
      );
      if (mark === null) usedMark = false;
      const at = mark ?? rows;
      const shown = await page.locator('[data-stack]').count();
      if (shown !== plan.stacks) throw new Error(`the overview shows ${shown} of ${plan.stacks} stacks`);
      firstRender.push(at);
      await context.close();
    }
    progress(`ui: first render ${spread(firstRender)}`);

    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    const page = await context.newPage();
    await page.goto(app.url);
    await page.waitForSelector('[data-stack]', { timeout: 30_000 });
    await page.evaluate(() => {
      location.hash = '#/history';
    });
    await page.waitForSelector('[data-run]', { timeout: 30_000 });
    scroll = await page.evaluate<ScrollResult>(
      `(${SCROLL})(${JSON.stringify({ step: plan.step, target: plan.runs, limitMs: 120_000 })})`,
    );
    await context.close();
    progress(
      `ui: scrolled ${scroll.rows} rows in ${ms(scroll.ms)}, worst frame ${ms(Math.max(...scroll.deltas))}`,
    );
    if (!scroll.reachedEnd)
      throw new Error(`scrolling stopped at ${scroll.rows} of ${plan.runs} rows after ${ms(scroll.ms)}`);
  } finally {
    await browser?.close();
    await app?.stop();
    await server.close();
    await removeDir(repo.work);
    await removeDir(dir);
  }
  const d = scroll.deltas;
  const over50 = d.filter((x) => x > 50).length;
  const worst = Math.max(...d);
  const frst = stats(firstRender);
  const section = `## 8. UI: browser mode in Chromium

\`mooring serve\` with ${plan.stacks} stacks of ${plan.perStack} services (${services.toLocaleString('en')} services, declared in git and not deployed,
so every one is shown Missing) and ${plan.runs.toLocaleString('en')} runs in history; headless Chromium (Debian's), 1360×860.

${table(
  ['what', 'measured', 'target'],
  [
    [
      `first render of the overview (navigation start → ${usedMark ? '`mooring:first-render` mark' : 'stack rows in the page'}), new context each, n=${frst.n}`,
      `${ms(frst.median)} median, ${ms(frst.max)} max`,
      '< 1 s',
    ],
    [
      `scrolling the History list through ${scroll.rows.toLocaleString('en')} runs (${plan.step} px a frame, loading 200 rows at a time)`,
      `${d.length} frames in ${ms(scroll.ms)}: median ${ms(stats(d).median)}, p95 ${ms(percentile(d, 95))}, max ${ms(worst)}; ${over50} over 50 ms`,
      'no frame > 50 ms',
    ],
  ],
)}
`;
  return {
    id: 'ui',
    title: 'UI',
    section,
    numbers: { 'first render': firstRender, 'scroll frame deltas': d, 'scroll total': [scroll.ms] },
    targets: [
      check(`UI first render, ${services} services`, '< 1 s', ms(frst.max), frst.max < 1000),
      check(
        `UI scroll of ${plan.runs} history rows`,
        'no frame > 50 ms',
        `max ${ms(worst)}, ${over50} over 50 ms`,
        worst <= 50,
      ),
    ],
  };
}
