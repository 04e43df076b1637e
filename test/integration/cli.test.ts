// The installed command itself (bin/mooring.mjs, what `npx mooring` runs) and its exit codes.
import { execFile } from 'node:child_process';
import { isAscii } from 'node:buffer';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');

async function spawnMooring(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the mooring command', () => {
  it('prints help listing every command', async () => {
    const r = await spawnMooring(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['source', 'fetch', 'status', 'diff', 'sync', 'history', 'log']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it("prints a command's help", async () => {
    const r = await spawnMooring(['sync', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mooring sync \[options\] \[stacks\.\.\.\]/);
    expect(r.stdout).toContain('--dry-run');
  });

  // The command tree and the engine are two bundles (scripts/build-cli.mjs): an error the engine throws
  // must still be a MooringError to the command tree, or every exit code would be 1.
  it("maps the engine's errors and its own to their exit codes", async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    const fromEngine = await spawnMooring(['--home', home, 'sync', 'nope']);
    expect(fromEngine.stderr).toMatch(/No stack named nope/);
    expect(fromEngine.code).toBe(2);
    const fromParsing = await spawnMooring(['--home', home, 'history', '--limit', '0']);
    expect(fromParsing.stderr).toMatch(/expected a positive whole number/);
    expect(fromParsing.code).toBe(2);
  });

  it('exits 2 on a usage error, with a hint', async () => {
    const r = await spawnMooring(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(r.stderr).toContain('mooring --help');
  });

  it('its bundles are ASCII, read fast, and still mean every non-ASCII character of the sources (issue 14)', async () => {
    // scripts/build-cli.mjs escapes what esbuild leaves as written (comments, regular expressions) so
    // bin/mooring.mjs can read the bundles as latin1; `µs` is in the duration grammar's expression.
    const out = path.resolve(import.meta.dirname, '../../out/cli');
    for (const file of ['mooring.cjs', 'mooring-engine.cjs']) {
      expect(isAscii(await readFile(path.join(out, file))), file).toBe(true);
    }
    const repo = await createLocalRepo({
      'web/compose.yaml': `services:\n  app:\n    image: local/busybox:1\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: 1500µs\n`,
      'bad/compose.yaml': `services:\n  app:\n    image: local/busybox:1\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: 15 µs\n`,
    });
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const status = await mooringJson<{ stacks: { name: string; errors: { message: string }[] }[] }>(home, [
      'status',
    ]);
    const errors = Object.fromEntries(status.stacks.map((s) => [s.name, s.errors.map((e) => e.message)]));
    expect(errors.web).toEqual([]);
    expect(errors.bad).toEqual([expect.stringMatching(/interval must be a duration/)]);
  });

  it('says what to do when there is nothing to work on', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    const status = await mooring(home, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('mooring source add NAME URL_OR_PATH');
    const sync = await mooring(home, ['sync', 'nope']);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toMatch(/No stack named nope/);
    const badName = await mooring(home, ['source', 'add', 'Bad Name', '/tmp']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/not valid/);
    const ssh = await mooring(home, ['source', 'add', 'x', 'git@example.com:a/b.git']);
    expect(ssh.code).toBe(2);
    expect(ssh.stderr).toMatch(/Only http\(s\) URLs and local paths/);
  });

  it('an unknown stack or revision is a usage error (exit 2) for every command, naming the stacks there are (issue 13)', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    const repo = await createLocalRepo({
      'web/compose.yaml': 'services:\n  app:\n    image: local/busybox:1\n',
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    for (const args of [
      ['status', 'nosuch'],
      ['diff', 'nosuch'],
      ['sync', 'nosuch'],
      ['suspend', 'nosuch'],
      ['resume', 'nosuch'],
      ['history', '--stack', 'nosuch'],
    ]) {
      const r = await mooring(home, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/nosuch/);
    }
    expect((await mooring(home, ['status', 'nosuch'])).stderr).toContain('Stacks: web.');
    const rev = await mooring(home, ['sync', 'web', '--revision', 'deadbeef']);
    expect(rev.code).toBe(2);
    expect(rev.stderr).toContain('Unknown revision "deadbeef"');
    // A known one still works.
    expect((await mooring(home, ['suspend', 'web'])).code).toBe(0);
    expect((await mooring(home, ['resume', 'web'])).code).toBe(0);
  });

  it('--json carries schemaVersion; history shows the whole error and local times with their zone (issue 13)', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    // Invalid at the tip: its sync is recorded as "Invalid manifest, nothing applied:" and the reason.
    const repo = await createLocalRepo({ 'bad/compose.yaml': 'services:\n  app:\n    image: [unclosed\n' });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync', 'bad'])).code).toBe(4);
    const json = await mooringJson<{ schemaVersion: number; runs: { error: string | null }[] }>(home, [
      'history',
    ]);
    expect(json.schemaVersion).toBe(1);
    const error = json.runs[0]?.error ?? '';
    expect(error.split('\n').length).toBeGreaterThan(1);
    const text = (await mooring(home, ['history'])).stdout;
    // Every line of the error is there, not only its first.
    for (const line of error.trimEnd().split('\n')) expect(text).toContain(line.trim());
    const zone =
      new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
        .formatToParts(new Date())
        .find((p) => p.type === 'timeZoneName')?.value ?? '';
    expect(text).toMatch(new RegExp(`\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} ${zone}`));
    for (const args of [['status'], ['log'], ['source', 'list']]) {
      expect((await mooringJson<{ schemaVersion: number }>(home, args)).schemaVersion, args.join(' ')).toBe(
        1,
      );
    }
  });

  it('an unreachable engine is said once, naming where its endpoint came from (issue 13)', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    const repo = await createLocalRepo({
      'a/compose.yaml': 'services:\n  app:\n    image: local/busybox:1\n',
      'b/compose.yaml': 'services:\n  app:\n    image: local/busybox:1\n',
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const fromEnv = await mooring(home, ['status'], {
      ...process.env,
      DOCKER_HOST: 'unix:///nonexistent/env.sock',
    });
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stdout.match(/is unreachable/g)).toHaveLength(1);
    expect(fromEnv.stdout).toContain('unix:///nonexistent/env.sock (from DOCKER_HOST)');
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ dockerHost: 'unix:///nonexistent/settings.sock' }),
    );
    const fromSettings = await mooring(home, ['status'], {
      ...process.env,
      DOCKER_HOST: 'unix:///nonexistent/env.sock',
    });
    expect(fromSettings.stdout.match(/is unreachable/g)).toHaveLength(1);
    expect(fromSettings.stdout).toContain('unix:///nonexistent/settings.sock (from settings.json)');
    expect(fromSettings.stdout).toContain('dockerHost in settings.json');
  });

  it('mooring completion writes a script from the command tree; bash completes commands, subcommands and options (issue 13)', async () => {
    const bash = await spawnMooring(['completion', 'bash']);
    expect(bash.code).toBe(0);
    const complete = async (words: string[]): Promise<string[]> => {
      const script = `${bash.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _mooring; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await run('bash', ['-c', script]);
      return stdout.split('\n').filter(Boolean);
    };
    expect(await complete(['mooring', 'so'])).toEqual(['source']);
    expect(await complete(['mooring', 'source', 'a'])).toEqual(['add']);
    expect(await complete(['mooring', '--home', '/x', 'sync', '--d'])).toEqual(['--dry-run']);
    expect(await complete(['mooring', 'compl'])).toEqual(['completion']);
    for (const shell of ['zsh', 'fish']) {
      const r = await spawnMooring(['completion', shell]);
      expect(r.code, shell).toBe(0);
      for (const command of ['source', 'status', 'sync', 'rollback', 'watch'])
        expect(r.stdout).toContain(command);
    }
    const unknown = await spawnMooring(['completion', 'tcsh']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bash, zsh, fish');
  });
});
