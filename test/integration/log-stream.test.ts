// Log streams through browser mode (issue 13, item 6): a real Engine and ApiService behind startServer,
// a real container printing coloured lines, a WebSocket client as the renderer is one. The stream
// delivers lines as the container writes them, ANSI escapes intact (the renderer draws them); stopping
// it, or the connection dropping, releases the engine's follow connection.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiService } from '../../electron/engine/api-service.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { startServer, type RunningServer } from '../../electron/server/server.ts';
import type { PushEvent, Reply } from '../../electron/shared/api.ts';
import { UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk } from '../helpers/docker.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED log stream tests: no Docker engine answers.');

const NAME = `mooring-logstream${UNIQUE}`;
const QUIET = `mooring-logquiet${UNIQUE}`;
const ESC = String.fromCharCode(27);

/** A window's connection: its calls' replies and what is pushed to it. */
class Window {
  readonly events: PushEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply<unknown>) => void>();
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; reply?: Reply<unknown>; event?: PushEvent };
      if (msg.event) this.events.push(msg.event);
      else if (typeof msg.id === 'number' && msg.reply) this.pending.get(msg.id)?.(msg.reply);
    });
  }
  static async open(server: RunningServer): Promise<Window> {
    const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/api?token=${server.token}`, {
      headers: { origin: server.origin },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Window(ws);
  }
  call(method: string, params: unknown): Promise<Reply<unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  lines(stream: string): string[] {
    return this.events.flatMap((e) =>
      e.type === 'logs' && e.stream === stream ? e.lines.map((l) => l.text) : [],
    );
  }
}

describe.skipIf(!haveDocker)('log streams in browser mode', () => {
  let base: string;
  let engine: Engine;
  let service: ApiService;
  let server: RunningServer;

  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'mooring-logs-'));
    const staticDir = path.join(base, 'renderer');
    await mkdir(staticDir);
    await writeFile(path.join(staticDir, 'index.html'), '<!doctype html>');
    await docker('rm', '-f', NAME, QUIET).catch(() => '');
    // A counter in red on stdout and a warning in yellow on stderr, five times a second.
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      NAME,
      'local/busybox:1',
      'sh',
      '-c',
      'i=0; while true; do i=$((i+1)); printf "\\033[31mred %d\\033[0m plain\\n" $i; printf "\\033[33mwarn %d\\033[0m\\n" $i >&2; sleep 0.2; done',
    );
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      QUIET,
      'local/busybox:1',
      'sh',
      '-c',
      'echo quiet one; exec sleep 3600',
    );
    engine = await Engine.open({ home: path.join(base, 'home') });
    service = new ApiService(engine, {
      createController: () => {
        throw new Error('no controller in this test');
      },
    });
    server = await startServer({ service, staticDir });
  });

  afterAll(async () => {
    await server.close();
    await service.stop();
    engine.close();
    await docker('rm', '-f', NAME, QUIET).catch(() => '');
    await rm(base, { recursive: true, force: true });
  });

  it('pushes coloured lines as they are written, of two containers in one stream, and stopping releases the engine', async () => {
    const win = await Window.open(server);
    const follow = await win.call('logs:follow', { stream: 's1', containers: [NAME, QUIET], tail: 5 });
    expect(follow).toEqual({ ok: true, value: null });
    await waitFor(
      'the tail of both containers',
      () =>
        win.lines('s1').some((l) => l.includes('quiet one')) &&
        win.lines('s1').some((l) => l.includes('red ')),
    );
    const lines = win.events.flatMap((e) => (e.type === 'logs' ? e.lines : []));
    const red = lines.find((l) => l.container === NAME && l.text.includes('red '))!;
    expect(red.text).toMatch(new RegExp(`^${ESC}\\[31mred \\d+${ESC}\\[0m plain$`));
    expect(red.stderr).toBe(false);
    expect(red.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(lines.find((l) => l.text.includes('warn '))?.stderr).toBe(true);
    // New lines keep coming: the counter goes past what the tail held.
    const counter = (): number =>
      Math.max(...win.lines('s1').map((l) => Number(/red (\d+)/.exec(l)?.[1] ?? 0)));
    const first = counter();
    await waitFor('newer lines', () => counter() >= first + 3, 10_000);
    expect(service.openLogStreams).toBe(2);

    expect(await win.call('logs:stop', { stream: 's1' })).toEqual({ ok: true, value: null });
    await waitFor('the engine connections released', () => service.openLogStreams === 0, 5_000);
    const after = win.lines('s1').length;
    await new Promise((r) => setTimeout(r, 600));
    expect(win.lines('s1').length).toBe(after);
    win.ws.close();
  });

  it('a connection that drops ends its streams', async () => {
    const win = await Window.open(server);
    expect((await win.call('logs:follow', { stream: 's2', containers: [NAME], tail: 1 })).ok).toBe(true);
    await waitFor('a line', () => win.lines('s2').length > 0);
    expect(service.openLogStreams).toBe(1);
    win.ws.terminate();
    await waitFor('the engine connection released', () => service.openLogStreams === 0, 5_000);
  });

  it('refuses bad input and reports a container that cannot be followed', async () => {
    const win = await Window.open(server);
    const bad = await win.call('logs:follow', { stream: 's3', containers: ['../x'], tail: 1 });
    expect(bad.ok).toBe(false);
    const none = await win.call('logs:follow', { stream: 's3', containers: [`${NAME}-nosuch`], tail: 1 });
    expect(none).toMatchObject({ ok: false, error: { code: 'failed' } });
    // One of two missing: the other is followed, the missing one reported as ended with its error.
    const some = await win.call('logs:follow', {
      stream: 's4',
      containers: [QUIET, `${NAME}-nosuch`],
      tail: 1,
    });
    expect(some.ok).toBe(true);
    await waitFor('the missing one reported', () =>
      win.events.some((e) => e.type === 'logs-end' && e.stream === 's4' && e.error),
    );
    win.ws.close();
    await waitFor('the engine connection released', () => service.openLogStreams === 0, 5_000);
  });
});
