// Secrets and configs against the real engine (issue 11, item 4): each kind of source (a repo file, a
// variable of the stack's .env, inline content) mounted read-only where compose mounts it, with its mode
// and owner; a changed secret is drift on its users only and recreates only them; and a secret's value
// reaches neither the history database nor anything the CLI prints.
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, runGit, type LocalRepo } from '../helpers/git-repo.ts';

const STACK = `sec${UNIQUE}`;
// Values that appear nowhere else, so a grep for them finds only a leak.
const SECRET_V1 = `pw-${process.pid}-Xq7vL2`;
const SECRET_V2 = `pw-${process.pid}-Zr9wM4`;
const FILE_SECRET = `key-${process.pid}-Hb3nT8`;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED secrets/configs tests: no Docker engine answers.');

const compose = `services:
  app:
    image: local/busybox:1
    init: true
    read_only: true
    command: ["sleep", "3600"]
    secrets:
      - db_pass
      - source: api_key
        target: key
        mode: 0400
        uid: "1000"
        gid: "1000"
    configs:
      - greeting
      - source: script
        target: /usr/local/bin/run.sh
  other:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    configs:
      - source: greeting
        target: /etc/greeting.txt
        mode: 0440
secrets:
  db_pass:
    environment: DB_PASS
  api_key:
    file: ./api_key.txt
configs:
  greeting:
    content: "hello \${WHO}"
  script:
    file: ./run.sh
`;

const envFile = (pass: string): string => `DB_PASS=${pass}\nWHO=world\n`;

describe.skipIf(!haveDocker)('secrets and configs', () => {
  let home: string;
  let repo: LocalRepo;
  const printed: string[] = [];
  /** The CLI, remembering everything it printed. */
  const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const r = await mooring(home, args);
    printed.push(r.stdout, r.stderr);
    return r;
  };
  const status = async (): Promise<StackStatus> => {
    const r = await mooringJson<{ stacks: StackStatus[] }>(home, ['status']);
    printed.push(JSON.stringify(r));
    return r.stacks.find((s) => s.name === STACK)!;
  };

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-sec-'));
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose,
      [`${STACK}/.env`]: envFile(SECRET_V1),
      [`${STACK}/api_key.txt`]: FILE_SECRET,
      [`${STACK}/run.sh`]: '#!/bin/sh\necho ran\n',
    });
    await runGit(repo.path, ['update-index', '--chmod=+x', `${STACK}/run.sh`]);
    await runGit(repo.path, ['commit', '-q', '-m', 'executable script']);
  });
  afterAll(async () => {
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('mounts each where compose does, read-only, with its content, mode and owner', async () => {
    expect((await cli(['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const sync = await cli(['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const app = `${STACK}-app-1`;
    expect(await docker('exec', app, 'cat', '/run/secrets/db_pass')).toBe(SECRET_V1);
    expect(await docker('exec', app, 'cat', '/run/secrets/key')).toBe(FILE_SECRET);
    // An environment secret gets compose's 0444; the others what they ask for.
    expect(await docker('exec', app, 'busybox', 'stat', '-c', '%a %u %g', '/run/secrets/db_pass')).toMatch(
      /^444 /,
    );
    expect(await docker('exec', app, 'busybox', 'stat', '-c', '%a %u %g', '/run/secrets/key')).toBe(
      '400 1000 1000',
    );
    // Configs: /NAME by default, interpolated inline content, a repo file keeps its executable bit.
    expect(await docker('exec', app, 'cat', '/greeting')).toBe('hello world');
    expect(await docker('exec', app, '/usr/local/bin/run.sh')).toBe('ran');
    expect(await docker('exec', `${STACK}-other-1`, 'busybox', 'stat', '-c', '%a', '/etc/greeting.txt')).toBe(
      '440',
    );
    // Read-only mounts: not even root in the container changes a secret.
    await expect(docker('exec', app, 'sh', '-c', 'echo x > /run/secrets/db_pass')).rejects.toThrow();
    const st = await status();
    expect(st.services.map((s) => [s.name, s.sync, s.reasons])).toEqual([
      ['app', 'Synced', []],
      ['other', 'Synced', []],
    ]);
  });

  it('a changed secret is drift on its users only, and recreates only them', async () => {
    const before = {
      app: (await inspect(`${STACK}-app-1`)).Id,
      other: (await inspect(`${STACK}-other-1`)).Id,
    };
    await repo.commit({ [`${STACK}/.env`]: envFile(SECRET_V2) }, 'rotate the database password');
    await cli(['fetch']);
    const st = await status();
    const app = st.services.find((s) => s.name === 'app')!;
    expect(app.sync).toBe('OutOfSync');
    expect(app.reasons.map((r) => r.path)).toContain('secrets.db_pass');
    expect(st.services.find((s) => s.name === 'other')!.sync).toBe('Synced');
    const diff = await cli(['diff']);
    expect(diff.stdout + diff.stderr).toContain('secrets.db_pass');
    const plan = await cli(['sync', '--dry-run']);
    expect(plan.stdout + plan.stderr).toContain('app');
    const sync = await cli(['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${STACK}-app-1`)).Id).not.toBe(before.app);
    expect((await inspect(`${STACK}-other-1`)).Id).toBe(before.other);
    expect(await docker('exec', `${STACK}-app-1`, 'cat', '/run/secrets/db_pass')).toBe(SECRET_V2);
    expect((await status()).services.every((s) => s.sync === 'Synced')).toBe(true);
  });

  it("never writes a secret's value to the history database or prints it", async () => {
    for (const args of [['history'], ['history', '--json'], ['log', '--json'], ['status'], ['diff']]) {
      await cli(args);
    }
    const db = await readFile(path.join(home, 'mooring.db'));
    const wal = await readFile(path.join(home, 'mooring.db-wal')).catch(() => Buffer.alloc(0));
    for (const value of [SECRET_V1, SECRET_V2, FILE_SECRET]) {
      expect(db.includes(value), `history db holds ${value}`).toBe(false);
      expect(wal.includes(value), `history WAL holds ${value}`).toBe(false);
      expect(printed.join('\n')).not.toContain(value);
    }
    // It is on disk only in the copy that is mounted (the home is the owner's alone).
    expect(printed.join('\n')).not.toContain('hello world');
  });
});
