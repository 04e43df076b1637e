// The webhook (issue 13, item 9) against a real HTTP receiver on 127.0.0.1 and a real history database:
// the three formats, what is told once, retries, and errors that never show the URL (it is the secret).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HistoryStore } from '../../electron/engine/history/store.ts';
import { WebhookNotifier, type Notice, type NotifierEvent } from '../../electron/engine/notify/webhook.ts';
import type { StackStatus, WebhookSettings } from '../../electron/shared/model.ts';
import { mooring } from '../helpers/cli.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver that keeps what it is sent and answers with the next status of `answers` (then 200). */
async function receiver(): Promise<{
  url: string;
  got: Received[];
  answers: number[];
  close: () => Promise<void>;
}> {
  const got: Received[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      res.statusCode = answers.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T0SECRET/B0SECRET`,
    got,
    answers,
    close: () =>
      new Promise((r) => {
        server.close(() => {
          r();
        });
      }),
  };
}

const status = (name: string, fields: string[]): StackStatus =>
  ({
    name,
    source: 'cfg',
    revision: 'abcdef1234567890',
    suspended: false,
    sync: 'OutOfSync',
    services: [
      {
        name: 'app',
        sync: 'OutOfSync',
        reasons: fields.map((path) => ({ path, desired: 'running', live: 'exited' })),
      },
    ],
    resources: [],
  }) as unknown as StackStatus;

const drift = (st: StackStatus): NotifierEvent => ({
  type: 'drift',
  status: st,
  at: new Date().toISOString(),
});
const log = (
  kind: 'run-finished' | 'in-sync' | 'gave-up',
  level: 'info' | 'error',
  message: string,
  extra: { runId?: number; trigger?: 'auto' | 'self-heal' } = {},
): NotifierEvent => ({
  type: 'log',
  level,
  kind,
  message,
  stack: 'web',
  source: 'cfg',
  at: new Date().toISOString(),
  ...extra,
});

describe('webhook notices', () => {
  let dir: string;
  let history: HistoryStore;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let settings: WebhookSettings | undefined;
  const env: NodeJS.ProcessEnv = {};
  const notifier = (): WebhookNotifier =>
    new WebhookNotifier({
      settings: () => settings,
      deliveries: history.deliveries,
      told: history.forEngine('local').told,
      env,
      retryDelayMs: 10,
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-webhook-'));
    history = new HistoryStore(path.join(dir, 'mooring.db'));
    rx = await receiver();
    env.HOOK_URL = rx.url;
  });
  afterAll(async () => {
    history.close();
    await rx.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    rx.got.length = 0;
    settings = { urlEnv: 'HOOK_URL', format: 'json', events: { drift: true, failed: true, healed: true } };
  });

  const notice: Notice = {
    event: 'failed',
    stack: 'web',
    source: 'cfg',
    runId: 7,
    title: 'web: run 7 failed',
    message: 'run 7 web failed in 1.0 s: <pull> & "denied"',
    at: '2026-12-01T10:00:00.000Z',
  };

  it('json: the notice with its schema version and host', async () => {
    const d = await notifier().tell(notice);
    expect(d).toMatchObject({ event: 'failed', stack: 'web', status: 200, error: null });
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.path).toBe('/hooks/T0SECRET/B0SECRET');
    expect(rx.got[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(rx.got[0]!.body)).toEqual({
      schemaVersion: 1,
      host: os.hostname(),
      ...notice,
    });
  });

  it('names the engine of a stack on another engine than local, which keeps its own "told"', async () => {
    const staging = new WebhookNotifier({
      settings: () => settings,
      deliveries: history.deliveries,
      told: history.forEngine('staging').told,
      engine: 'staging',
      env,
    });
    const local = notifier();
    staging.observe(drift(status('api', ['state'])));
    local.observe(drift(status('api', ['state'])));
    await staging.idle();
    await local.idle();
    expect(rx.got).toHaveLength(2);
    const bodies = rx.got.map((g) => JSON.parse(g.body) as Notice);
    expect(bodies.find((b) => b.engine === 'staging')).toMatchObject({
      stack: 'api',
      title: 'api drifted from git (on staging)',
    });
    expect(bodies.find((b) => b.engine === undefined)).toMatchObject({
      stack: 'api',
      title: 'api drifted from git',
    });
  });

  it('ntfy: the message as the body, title, tags and priority as headers', async () => {
    settings!.format = 'ntfy';
    await notifier().tell(notice);
    expect(rx.got[0]!.body).toBe(notice.message);
    expect(rx.got[0]!.headers).toMatchObject({
      title: `Mooring on ${os.hostname()}: web: run 7 failed`,
      tags: 'x',
      priority: '4',
    });
  });

  it("slack: one text, with Slack's escapes so that nothing reads as a link or a mention", async () => {
    settings!.format = 'slack';
    await notifier().tell(notice);
    const { text } = JSON.parse(rx.got[0]!.body) as { text: string };
    expect(text).toBe(
      `*Mooring on ${os.hostname()}: web: run 7 failed*\nrun 7 web failed in 1.0 s: &lt;pull&gt; &amp; "denied"`,
    );
  });

  it('tells the same drift once, across restarts, until the stack is in sync again', async () => {
    const n = notifier();
    n.observe(drift(status('web', ['state'])));
    n.observe(drift(status('web', ['state'])));
    await n.idle();
    expect(rx.got).toHaveLength(1);
    expect(JSON.parse(rx.got[0]!.body)).toMatchObject({
      event: 'drift',
      stack: 'web',
      title: 'web drifted from git',
      message: 'web @ abcdef1 differs from git: app (state exited)',
    });
    // A new process on the same home (a restart of `mooring watch`) does not tell it again.
    const restarted = notifier();
    restarted.observe(drift(status('web', ['state'])));
    // Another drift of the same stack is told.
    restarted.observe(drift(status('web', ['state', 'image'])));
    await restarted.idle();
    expect(rx.got).toHaveLength(2);
    // In sync again: the first drift, when it comes back, is news again.
    restarted.observe(log('in-sync', 'info', 'web is in sync at abcdef1'));
    restarted.observe(drift(status('web', ['state'])));
    await restarted.idle();
    expect(rx.got).toHaveLength(3);
  });

  it('tells a failure once while it repeats, and a heal by self-heal (not by an auto run)', async () => {
    const n = notifier();
    n.observe(log('run-finished', 'error', 'run 3 web failed in 1.2 s: pull access denied', { runId: 3 }));
    n.observe(log('run-finished', 'error', 'run 4 web failed in 2.5 s: pull access denied', { runId: 4 }));
    n.observe(log('gave-up', 'error', 'web @ abcdef1: giving up after 5 failed auto tries'));
    n.observe(log('run-finished', 'info', 'run 5 web succeeded in 1.0 s', { runId: 5, trigger: 'auto' }));
    n.observe(
      log('run-finished', 'info', 'run 6 web succeeded in 0.4 s', { runId: 6, trigger: 'self-heal' }),
    );
    await n.idle();
    expect(rx.got.map((g) => (JSON.parse(g.body) as { event: string; title: string }).title)).toEqual([
      'web: run 3 failed',
      'web: the controller gave up',
      'web repaired by self-heal',
    ]);
  });

  it('sends only the events asked for', async () => {
    settings!.events = { drift: false, failed: true, healed: false };
    const n = notifier();
    n.observe(drift(status('other', ['state'])));
    n.observe(
      log('run-finished', 'info', 'run 8 web succeeded in 0.4 s', { runId: 8, trigger: 'self-heal' }),
    );
    await n.idle();
    expect(rx.got).toHaveLength(0);
    settings = undefined;
    expect(await notifier().tell(notice)).toBeNull();
  });

  it('tries once more after a 5xx; a 404 says to check the URL; both are recorded', async () => {
    rx.answers.push(503);
    const retried = await notifier().tell({ ...notice, event: 'test' });
    expect(rx.got).toHaveLength(2);
    expect(retried).toMatchObject({ status: 200, error: null });
    rx.answers.push(404);
    const refused = await notifier().tell({ ...notice, event: 'test' });
    expect(rx.got).toHaveLength(3);
    expect(refused?.error).toMatch(/^The receiver answered 404 Not Found: check the URL/);
    expect(history.deliveries.list(2).map((d) => d.status)).toEqual([404, 200]);
  });

  it('an unreachable receiver or a missing variable is said in words that never hold the URL', async () => {
    const down = await receiver();
    await down.close();
    env.DOWN_URL = down.url;
    settings!.urlEnv = 'DOWN_URL';
    const d = await notifier().tell({ ...notice, event: 'test' });
    expect(d?.error).toBe('Could not reach the receiver (ECONNREFUSED).');
    settings!.urlEnv = 'UNSET_URL';
    const unset = await notifier().tell({ ...notice, event: 'test' });
    expect(unset?.error).toBe(
      "UNSET_URL, the variable that holds the webhook's URL, is not set for this process.",
    );
    for (const r of history.deliveries.list(50)) expect(JSON.stringify(r)).not.toContain('SECRET');
  });
});

describe('mooring webhook', () => {
  it('set, show, test and off; settings.json names the variable, never the URL', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-webhook-cli-'));
    const rx = await receiver();
    const env = { ...process.env, HOOK_URL: rx.url };
    try {
      expect((await mooring(home, ['webhook'], env)).stdout).toContain('No webhook is set.');
      const bad = await mooring(home, ['webhook', 'set', 'teams', '--url-env', 'HOOK_URL'], env);
      expect(bad).toMatchObject({ code: 2 });
      expect(bad.stderr).toContain('Format "teams" is not one of json, ntfy, slack.');
      const url = await mooring(home, ['webhook', 'set', 'ntfy', '--url-env', rx.url], env);
      expect(url.code).toBe(2);
      expect(url.stderr).toContain("--url-env takes a variable's name");

      const set = await mooring(
        home,
        ['webhook', 'set', 'ntfy', '--url-env', 'HOOK_URL', '--events', 'failed'],
        env,
      );
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain('Webhook set: ntfy notices for failed, to the URL in $HOOK_URL.');
      const file = await readFile(path.join(home, 'settings.json'), 'utf8');
      expect(JSON.parse(file)).toMatchObject({
        webhook: {
          urlEnv: 'HOOK_URL',
          format: 'ntfy',
          events: { drift: false, failed: true, healed: false },
        },
      });
      expect(file).not.toContain('SECRET');

      const test = await mooring(home, ['webhook', 'test'], env);
      expect(test.code, test.stderr).toBe(0);
      expect(test.stdout).toContain('Test notice delivered (HTTP 200).');
      expect(rx.got).toHaveLength(1);
      expect(rx.got[0]!.headers.title).toBe(`Mooring on ${os.hostname()}: test notice`);

      // Without the variable, the test says so and fails (exit 3: could not reach).
      const without: NodeJS.ProcessEnv = { ...env, HOOK_URL: undefined };
      const unset = await mooring(home, ['webhook', 'test'], without);
      expect(unset.code).toBe(3);
      expect(unset.stderr).toContain("HOOK_URL, the variable that holds the webhook's URL, is not set");
      const shown = await mooring(home, ['webhook'], without);
      expect(shown.stdout).toContain(
        'ntfy notices for failed, to the URL in $HOOK_URL (not set in this shell)',
      );
      expect(shown.stdout).toMatch(/test {2}✗ HOOK_URL, the variable/);
      expect(shown.stdout).toMatch(/test {2}✓ 200/);

      expect((await mooring(home, ['webhook', 'off'], env)).stdout).toContain('Webhook off');
      expect(JSON.parse(await readFile(path.join(home, 'settings.json'), 'utf8'))).not.toHaveProperty(
        'webhook',
      );
    } finally {
      await rx.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
