// The installed command itself (bin/mooring.mjs, what `npx mooring` runs) and its exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mooring } from '../helpers/cli.ts';

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
});
