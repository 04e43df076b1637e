// Keys and signed commits made as a user makes them: ssh-keygen for the key, native git (its
// gpg.format=ssh) for the signature. For the signed-commit tests (issue 17, item 3).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runGit } from './git-repo.ts';

const run = promisify(execFile);

export interface SshKey {
  private: string;
  public: string;
  /** "principal [options] keytype key": a line of an allowed_signers file. */
  line: (principal: string, options?: string) => string;
}

/** A key made by ssh-keygen in `dir` (`type`: its -t/-b flags), without a passphrase. */
export async function sshKey(dir: string, name: string, type: string[] = ['-t', 'ed25519']): Promise<SshKey> {
  const file = path.join(dir, name);
  await run('ssh-keygen', ['-q', ...type, '-N', '', '-C', name, '-f', file]);
  const pub = (await readFile(`${file}.pub`, 'utf8')).trim().split(' ');
  return {
    private: file,
    public: `${file}.pub`,
    line: (principal, options) => [principal, options, pub[0], pub[1]].filter(Boolean).join(' '),
  };
}

/** Writes `files` into the work tree `repo` and commits them, signed with `key` (null: unsigned). */
export async function commitSsh(
  repo: string,
  key: SshKey | null,
  files: Record<string, string>,
  message = `change by ${key ? path.basename(key.private) : 'nobody'}`,
): Promise<string> {
  for (const [f, text] of Object.entries(files)) await writeFile(path.join(repo, f), text);
  await runGit(repo, ['add', '-A']);
  const sign = key
    ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.private}`, 'commit', '-S']
    : ['commit'];
  await runGit(repo, [...sign, '-q', '--allow-empty', '-m', message]);
  return runGit(repo, ['rev-parse', 'HEAD']);
}
