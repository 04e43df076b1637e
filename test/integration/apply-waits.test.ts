// Against the real engine: waiting for a healthcheck (a dependency's `service_healthy`, a new
// container's own health) looks again when the engine reports a change, not on a timer. The old code
// asked the engine every 250 ms; a 4 s wait cost some 16 looks, now it costs a handful.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { mooring } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED apply wait tests: no Docker engine answers.');
// util-linux's `script` runs a command on a pseudo-terminal, as a person's shell would.
const haveScript = await promisify(execFile)('script', ['--version']).then(
  () => true,
  () => false,
);
if (!haveScript)
  console.warn('SKIPPED the terminal spinner test: no `script` (util-linux) to give it a terminal.');
const bin = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');

const STACK = `waits${UNIQUE}`;

// db says healthy only once /tmp/ok exists, some 5 s after it started (its third probe); app waits.
const COMPOSE = `services:
  db:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "sleep 5; touch /tmp/ok; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 2s
      timeout: 2s
      retries: 30
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    depends_on:
      db:
        condition: service_healthy
`;

describe.skipIf(!haveDocker)('health waits are driven by the engine events', () => {
  let home: string;
  let repo: LocalRepo;
  let engine: Engine | null = null;

  beforeAll(async () => {
    await removeStacks(STACK);
  });
  afterAll(async () => {
    await removeStacks(STACK);
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-waits-'));
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: COMPOSE });
  });
  afterEach(async () => {
    engine?.close();
    engine = null;
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a service_healthy dependency is waited for with a few looks, and app starts only after db is healthy', async () => {
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.path });
    const looks = {
      state: vi.spyOn(engine.docker, 'state'),
      observe: vi.spyOn(engine.docker, 'observe'),
    };
    const [result] = await engine.sync({ stacks: [STACK] });
    expect(result?.result, result?.error ?? '').toBe('succeeded');

    const db = await inspect(`${STACK}-db-1`);
    const app = await inspect(`${STACK}-app-1`);
    expect(db.State.Health?.Status).toBe('healthy');
    expect(app.State.Running).toBe(true);
    // db became healthy at its first passing probe; app was started after that.
    const healthyAt = Math.min(
      ...(db.State.Health?.Log ?? []).filter((l) => l.ExitCode === 0).map((l) => Date.parse(l.End)),
    );
    expect(Date.parse(app.State.StartedAt)).toBeGreaterThanOrEqual(healthyAt - 50);
    // Some 6 s of waiting: polled every 250 ms that was 24 looks or more; on events, a handful (the
    // plan's own observation, the first look of each wait, one per probe and per health change).
    const total = looks.state.mock.calls.length + looks.observe.mock.calls.length;
    expect(total).toBeLessThanOrEqual(12);
  });

  it('mooring sync prints each action as it starts and what it waits for, one line per change (issue 13, CLI)', async () => {
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const at = (text: string): number => lines.findIndex((l) => l.includes(text));
    // In order: db starts, waits for its healthcheck (saying what it said), is done; then app.
    expect(at('… create db')).toBeGreaterThanOrEqual(0);
    expect(at('… create db: waiting for db to be healthy')).toBeGreaterThan(at('… create db'));
    expect(at('✓ create db')).toBeGreaterThan(at('… create db: waiting for db to be healthy'));
    expect(at('… create app')).toBeGreaterThan(at('✓ create db'));
    // A line per change: the same wait is not repeated for every engine event.
    const waits = lines.filter((l) => l.includes('waiting for db to be healthy'));
    expect(new Set(waits).size).toBe(waits.length);
  });

  it.skipIf(!haveScript)(
    'on a terminal, a spinner under the lines says what the sync waits for and for how long',
    async () => {
      expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
      const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
      delete env.CI; // a CI run sets it, and a spinner stays off there
      const command = [process.execPath, bin, '--home', home, 'sync', STACK].map((a) => `'${a}'`).join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qfec', command, '/dev/null'], { env });
      // The spinner said what the wait is and how long it has lasted, redrawn in place.
      expect(stdout).toMatch(/create db: waiting for db to be healthy \(\d+ s\)/);
      // The first frame after an action's line is of that action, not of the one before it.
      const after = stdout.slice(stdout.indexOf('  … create app') + '  … create app'.length);
      expect(after.slice(0, after.indexOf('\u001B[?2026l'))).toContain('create app');
      // The cursor hidden while it spun is shown again.
      expect(stdout.lastIndexOf('\u001B[?25h')).toBeGreaterThan(stdout.lastIndexOf('\u001B[?25l'));
      // Nothing is drawn after the last action's line.
      expect(stdout.slice(stdout.indexOf('✓ create app'))).not.toContain('\u001B[?2026h');
      // Every progress line is whole on its own line, as without a terminal.
      const lines = stdout
        .split(/\r?\n/)
        .map((l) => stripVTControlCharacters(l.slice(Math.max(0, l.lastIndexOf('\u001B[0K')))));
      for (const l of ['  … create db', '  ✓ create db', '  … create app', '  ✓ create app'])
        expect(
          lines.some((x) => x.startsWith(l)),
          `${l} in:\n${lines.join('\n')}`,
        ).toBe(true);
    },
    60_000,
  );
});
