// Every input crossing into the engine from a UI transport is parsed first; failures come back
// as typed errors with a message, never as exceptions.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiService, type ApiServiceOptions } from '../../electron/engine/api-service.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { schemas, type PushEvent } from '../../electron/shared/api.ts';
import { METHOD_NAMES } from '../../electron/shared/methods.ts';
import { memorySecrets, serveOverPort, type ServedApi } from '../helpers/api-port.ts';

// Every test runs twice: on the service itself (browser mode's server, the CLI) and across a message
// channel, as the desktop's main process reaches the engine in its utility process (issue 16, item 4).
const closers: (() => void)[] = [];
const TRANSPORTS: { name: string; make: (engine: Engine, o: ApiServiceOptions) => Promise<ServedApi> }[] = [
  { name: 'in process', make: (engine, o) => Promise.resolve(new ApiService(engine, o)) },
  {
    name: 'over a message port',
    make: async (engine, o) => {
      const { api, close } = await serveOverPort(engine, o);
      closers.push(close);
      return api;
    },
  },
];

describe.each(TRANSPORTS)('ApiService.handle ($name)', ({ make }) => {
  let home: string;
  let engine: Engine;
  let service: ServedApi;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-api-'));
    // An endpoint nothing listens on: these calls must not need an engine.
    engine = await Engine.open({ home, dockerHost: `unix://${home}/none.sock` });
    service = await make(engine, {
      createController: () => {
        throw new Error('not started in these tests');
      },
    });
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    engine.close();
    await rm(home, { recursive: true, force: true });
  });

  it('the preload and the schemas know the same methods', () => {
    expect([...METHOD_NAMES].sort()).toEqual(Object.keys(schemas).sort());
  });

  it('refuses an unknown method', async () => {
    expect(await service.handle('engine:rm -rf', {})).toEqual({
      ok: false,
      error: { code: 'invalid-input', message: 'Unknown method "engine:rm -rf".' },
    });
    expect((await service.handle('toString', {})).ok).toBe(false);
  });

  it('refuses malformed input with the field named', async () => {
    const r = await service.handle('history:runs', { limit: 'all' });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({
        code: 'invalid-input',
        message: expect.stringContaining('limit') as string,
      });
    const extra = await service.handle('history:runs', { limit: 5, sql: 'DROP TABLE runs' });
    expect(extra.ok).toBe(false);
    const badName = await service.handle('sources:add', { name: '../etc', url: '/tmp' });
    expect(badName.ok).toBe(false);
    if (!badName.ok) expect(badName.error.message).toContain('name');
    const badRev = await service.handle('stacks:plan', { stack: 'web', revision: '--upload-pack=evil' });
    expect(badRev.ok).toBe(false);
  });

  it('answers valid calls and carries engine errors as typed errors', async () => {
    expect(await service.handle('history:runs', { limit: 10 })).toEqual({ ok: true, value: [] });
    const missing = await service.handle('history:run', { id: 42 });
    expect(missing).toEqual({ ok: false, error: { code: 'not-found', message: 'No run #42.' } });
    const snap = await service.handle('app:snapshot', {});
    expect(snap.ok).toBe(true);
    if (snap.ok) {
      expect(snap.value).toMatchObject({ stacks: [], sources: [], engine: { reachable: false } });
    }
  });

  it('pushes what changed since the last snapshot, and nothing when nothing did (issue 12)', async () => {
    const pushed: PushEvent[] = [];
    service.subscribe((e) => pushed.push(e));
    const first = await service.handle('app:snapshot', {});
    if (!first.ok) throw new Error(first.error.message);
    // The first snapshot published: every window holding none gets it all as version 1.
    expect(first.value).toMatchObject({ version: 1, controller: { enabled: true } });
    expect(pushed).toMatchObject([{ type: 'delta', base: 0, version: 1 }]);
    expect(await service.handle('app:snapshot', {})).toMatchObject({ ok: true, value: { version: 1 } });
    expect(pushed).toHaveLength(1);

    const next = new Promise<PushEvent>((resolve) => service.subscribe(resolve));
    expect((await service.handle('settings:update', { controllerEnabled: false })).ok).toBe(true);
    expect(await next).toEqual({
      type: 'delta',
      base: 1,
      version: 2,
      controller: { enabled: false, running: false },
    });
    expect(service.current()).toMatchObject({ version: 2, controller: { enabled: false } });
    await service.stop();
  });

  it('the webhook: a URL typed into the desktop goes to the secret store; browser mode takes a variable name', async () => {
    const events = { drift: true, failed: true, healed: false };
    const browser = await service.handle('settings:webhook', {
      format: 'slack',
      events,
      url: 'https://hooks.example/T0/B0SECRET',
    });
    expect(browser).toMatchObject({ ok: false, error: { code: 'usage' } });
    if (!browser.ok)
      expect(browser.error.message).toContain('put it in an environment variable of `mooring serve`');
    const notHttp = await service.handle('settings:webhook', {
      format: 'json',
      events,
      url: 'file:///etc/passwd',
    });
    expect(notHttp).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    const byName = await service.handle('settings:webhook', { format: 'json', events, urlEnv: 'HOOK_URL' });
    expect(byName).toMatchObject({
      ok: true,
      value: { webhook: { urlEnv: 'HOOK_URL', format: 'json', urlSet: false } },
    });

    const kept = new Map<string, string>();
    const desktop = await make(engine, {
      createController: () => {
        throw new Error('not started in these tests');
      },
      secrets: {
        save: () => Promise.reject(new Error('not a token')),
        remove: () => Promise.resolve(),
        saveVariable: (name, value) => {
          kept.set(name, value);
          return Promise.resolve();
        },
      },
    });
    const typed = await desktop.handle('settings:webhook', {
      format: 'slack',
      events,
      url: 'https://hooks.example/T0/B0SECRET',
    });
    expect(typed).toMatchObject({
      ok: true,
      value: { webhook: { urlEnv: 'MOORING_WEBHOOK_URL', format: 'slack', events } },
    });
    expect(kept.get('MOORING_WEBHOOK_URL')).toBe('https://hooks.example/T0/B0SECRET');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(home, 'settings.json'), 'utf8')).not.toContain('SECRET');
    // Saved again without a URL (only the events changed): the kept one stays in use.
    const again = await desktop.handle('settings:webhook', {
      format: 'slack',
      events: { ...events, healed: true },
    });
    expect(again).toMatchObject({ ok: true, value: { webhook: { urlEnv: 'MOORING_WEBHOOK_URL' } } });
    expect(await service.handle('settings:webhook', { off: true })).toMatchObject({
      ok: true,
      value: { webhook: null },
    });
  });

  it('browser mode refuses to take a token and says what to do instead', async () => {
    const r = await service.handle('sources:add', {
      name: 'cfg',
      url: 'http://127.0.0.1:1/x.git',
      token: 'secret',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toContain('--token-env');
      expect(r.error.message).not.toContain('secret');
    }
    expect(engine.listSources()).toEqual([]);
  });

  it('a token typed into the desktop app goes to the secret store; only its variable name is kept', async () => {
    const { kept, store } = memorySecrets();
    const desktop = await make(engine, {
      createController: () => {
        throw new Error('not started in these tests');
      },
      secrets: store,
    });
    const r = await desktop.handle('sources:add', {
      name: 'cfg',
      url: 'http://127.0.0.1:1/x.git',
      token: 's3cret-token',
    });
    expect(r.ok).toBe(true);
    expect(kept.get('cfg')).toBe('s3cret-token');
    expect(engine.listSources()[0]).toMatchObject({ name: 'cfg', tokenEnv: 'MOORING_TOKEN_CFG' });
    engine.history.db.pragma('wal_checkpoint(TRUNCATE)');
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(path.join(home, 'mooring.db'))).includes('s3cret-token')).toBe(false);
    const removed = await desktop.handle('sources:update', { name: 'cfg', token: null });
    expect(removed.ok).toBe(true);
    expect(kept.has('cfg')).toBe(false);
    expect(engine.listSources()[0]!.tokenEnv).toBeNull();
  });

  it('a URL typed with user:TOKEN@ keeps the token in the secret store and the URL without it (issue 10)', async () => {
    const secret = 'p@ss:w0rd-S3CRET';
    const { kept, store } = memorySecrets();
    const desktop = await make(engine, {
      createController: () => {
        throw new Error('not started in these tests');
      },
      secrets: store,
    });
    const r = await desktop.handle('sources:add', {
      name: 'cfg',
      url: `http://user:${encodeURIComponent(secret)}@127.0.0.1:1/x.git`,
    });
    expect(r.ok).toBe(true);
    expect(JSON.stringify(r)).not.toContain('S3CRET');
    expect(kept.get('cfg')).toBe(secret);
    expect(engine.listSources()[0]).toMatchObject({
      url: 'http://127.0.0.1:1/x.git',
      tokenEnv: 'MOORING_TOKEN_CFG',
    });
    // A token alone in the user-name place is the token.
    const bare = await desktop.handle('sources:add', {
      name: 'bare',
      url: 'https://ghp_T0KEN@127.0.0.1:1/y.git',
    });
    expect(bare.ok).toBe(true);
    expect(kept.get('bare')).toBe('ghp_T0KEN');
    expect(engine.listSources().find((s) => s.name === 'bare')!.url).toBe('https://127.0.0.1:1/y.git');
    // Adding a second source of the same name neither replaces nor removes the first one's token.
    const again = await desktop.handle('sources:add', {
      name: 'cfg',
      url: 'http://user:other@127.0.0.1:1/z.git',
    });
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(kept.get('cfg')).toBe(secret);
    engine.history.db.pragma('wal_checkpoint(TRUNCATE)');
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(path.join(home, 'mooring.db'))).includes('S3CRET')).toBe(false);
  });

  it('browser mode refuses a URL with credentials, says what to run instead, and never echoes them', async () => {
    const r = await service.handle('sources:add', {
      name: 'cfg',
      url: 'http://user:S3CRET@127.0.0.1:1/x.git',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('usage');
      expect(r.error.message).toContain(
        'mooring source add cfg http://127.0.0.1:1/x.git --token-env MOORING_TOKEN_CFG',
      );
      expect(r.error.message).not.toContain('S3CRET');
    }
    expect(engine.listSources()).toEqual([]);
  });
});
