// Issue 17, item 3: a source that requires signatures deploys only commits signed by a key it allows,
// by sync and by the controller alike; an unsigned or wrongly signed tip is Unverified, naming the signer
// found; every deploy records its verified signer. SSH keys are made with ssh-keygen and OpenPGP keys
// with gpg in the test; commits are signed by native git; verification is Mooring's own, in process.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitVerify } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { GitSource } from '../../electron/engine/source/git-source.ts';
import { describeKeys, parseAllowedSigners } from '../../electron/engine/source/signatures.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE, waitFor } from '../helpers/controller.ts';
import { dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, runGit, type LocalRepo } from '../helpers/git-repo.ts';
import { commitSsh, sshKey, type SshKey } from '../helpers/signing.ts';

const run = promisify(execFile);
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED signed-commit deploy tests: no Docker engine answers.');

const gitSource = (repo: LocalRepo, home: string): GitSource =>
  new GitSource({
    home,
    config: { name: 'cfg', url: repo.path, kind: 'local', branch: 'main', path: '', tokenEnv: null },
  });

describe('verifying commit signatures in process', () => {
  let dir: string;
  let repo: LocalRepo;
  let alice: SshKey;
  let rsa: SshKey;
  let ecdsa: SshKey;
  let mallory: SshKey;
  let policy: CommitVerify;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-sig-'));
    alice = await sshKey(dir, 'alice', ['-t', 'ed25519']);
    rsa = await sshKey(dir, 'rsa', ['-t', 'rsa', '-b', '3072']);
    ecdsa = await sshKey(dir, 'ecdsa', ['-t', 'ecdsa', '-b', '256']);
    mallory = await sshKey(dir, 'mallory', ['-t', 'ed25519']);
    policy = {
      format: 'ssh',
      keys: [
        '# who may deploy',
        alice.line('alice@example.com'),
        rsa.line('ops@example.com,rsa@example.com'),
        ecdsa.line('ci@example.com', 'namespaces="git"'),
        '',
      ].join('\n'),
    };
    repo = await createLocalRepo({ 'a/compose.yaml': 'services: {}\n' });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('verifies ed25519, RSA and ECDSA signatures of allowed keys, naming the signer', async () => {
    const git = gitSource(repo, dir);
    for (const [key, who] of [
      [alice, 'alice@example.com (ssh-ed25519 SHA256:'],
      [rsa, 'ops@example.com,rsa@example.com (ssh-rsa SHA256:'],
      [ecdsa, 'ci@example.com (ecdsa-sha2-nistp256 SHA256:'],
    ] as const) {
      const commit = await commitSsh(repo.path, key, { 'a/compose.yaml': `services: {} # ${who}\n` });
      const v = await git.verification(commit, policy);
      expect(v, who).toMatchObject({ verified: true, why: '' });
      expect(v.signer).toContain(who);
      // git's own verdict agrees (with the same allowed signers file).
      await writeFile(path.join(dir, 'allowed'), policy.keys);
      const ok = await runGit(repo.path, [
        '-c',
        `gpg.ssh.allowedSignersFile=${path.join(dir, 'allowed')}`,
        'verify-commit',
        commit,
      ]).then(
        () => true,
        () => false,
      );
      expect(ok).toBe(true);
    }
  });

  it('refuses an unsigned commit, another key, a tampered commit and keys outside their limits', async () => {
    const git = gitSource(repo, dir);
    const unsigned = await commitSsh(repo.path, null, { 'a/compose.yaml': 'services: { x: {} }\n' });
    expect(await git.verification(unsigned, policy)).toEqual({
      verified: false,
      signer: null,
      why: 'the commit is not signed',
    });

    const other = await commitSsh(repo.path, mallory, { 'a/compose.yaml': 'services: { y: {} }\n' });
    const byOther = await git.verification(other, policy);
    expect(byOther.verified).toBe(false);
    expect(byOther.signer).toMatch(/^key SHA256:/);
    expect(byOther.why).toContain('is not an allowed signer');

    // Alice's signature moved onto other content: the same signature header, another message.
    const signed = await commitSsh(repo.path, alice, { 'a/compose.yaml': 'services: { z: {} }\n' });
    const raw = await runGit(repo.path, ['cat-file', 'commit', signed]);
    await writeFile(
      path.join(dir, 'forged'),
      `${raw.replace(/change by alice$/, 'change by alice, trust me')}\n`,
    );
    const forged = await runGit(repo.path, ['hash-object', '-t', 'commit', '-w', path.join(dir, 'forged')]);
    const v = await git.verification(forged, policy);
    expect(v.verified).toBe(false);
    expect(v.signer).toContain('alice@example.com');
    expect(v.why).toContain('does not match the commit');

    // A key allowed for other namespaces, or only after the commit, does not sign deploys.
    for (const options of ['namespaces="file"', 'valid-after="29990101"', 'valid-before="20000101Z"']) {
      const limited: CommitVerify = { format: 'ssh', keys: alice.line('alice@example.com', options) };
      const r = await git.verification(signed, limited);
      expect(r.verified, options).toBe(false);
      expect(r.why, options).toContain('not allowed for git commits');
    }
  });

  it('refuses allowed_signers lines it would read differently from ssh-keygen', async () => {
    expect(() => parseAllowedSigners(alice.line('*', 'cert-authority'), 'f')).toThrow(
      /f:1: option "cert-authority" is not supported/,
    );
    expect(() => parseAllowedSigners('alice ssh-dss AAAA', 'f')).toThrow(/key type ssh-dss is not supported/);
    expect(() => parseAllowedSigners('# nothing\n', 'f')).toThrow(/lists no key/);
    expect(() => parseAllowedSigners('alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==', 'f')).toThrow(
      /f:1: the key cannot be read/,
    );
    expect(await describeKeys(policy)).toEqual([
      expect.stringMatching(/^alice@example\.com \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\)$/),
      expect.stringMatching(/^ops@example\.com,rsa@example\.com \(ssh-rsa SHA256:/),
      expect.stringMatching(/^ci@example\.com \(ecdsa-sha2-nistp256 SHA256:/),
    ]);
  });

  describe('OpenPGP', () => {
    let gnupg: string;
    const gpg = (...args: string[]): Promise<string> =>
      run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
        env: { ...process.env, GNUPGHOME: gnupg },
      }).then((r) => r.stdout);
    const fingerprint = async (uid: string): Promise<string> =>
      (await gpg('--with-colons', '--list-keys', uid))
        .split('\n')
        .find((l) => l.startsWith('fpr:'))!
        .split(':')[9]!;
    const commitGpg = async (fpr: string | null, text: string): Promise<string> => {
      await writeFile(path.join(repo.path, 'a/compose.yaml'), text);
      await runGit(repo.path, ['add', '-A']);
      const sign = fpr
        ? ['-c', 'gpg.program=gpg', '-c', `user.signingkey=${fpr}`, 'commit', '-S']
        : ['commit'];
      await run('git', [...sign, '-q', '-m', text], {
        cwd: repo.path,
        env: {
          ...process.env,
          GNUPGHOME: gnupg,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_AUTHOR_NAME: 'T',
          GIT_AUTHOR_EMAIL: 't@x',
          GIT_COMMITTER_NAME: 'T',
          GIT_COMMITTER_EMAIL: 't@x',
        },
      });
      return runGit(repo.path, ['rev-parse', 'HEAD']);
    };

    beforeAll(async () => {
      gnupg = await mkdtemp(path.join(os.tmpdir(), 'mooring-gpg-'));
      await gpg('--quick-gen-key', 'Alice <alice@example.com>', 'ed25519', 'sign', 'never');
      await gpg('--quick-gen-key', 'Bob <bob@example.com>', 'rsa3072', 'sign', 'never');
      await gpg('--quick-gen-key', 'Eve <eve@example.com>', 'ed25519', 'sign', 'never');
    }, 60_000);

    afterAll(async () => {
      await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupg } }).catch(
        () => undefined,
      );
      await rm(gnupg, { recursive: true, force: true });
    });

    it('verifies commits signed by keys of the keyring (EdDSA and RSA) and refuses the rest', async () => {
      const keyring = await gpg('--armor', '--export', 'alice@example.com', 'bob@example.com');
      const openpgp: CommitVerify = { format: 'openpgp', keys: keyring };
      expect(await describeKeys(openpgp)).toEqual([
        `Alice <alice@example.com> ${await fingerprint('alice@example.com')}`,
        `Bob <bob@example.com> ${await fingerprint('bob@example.com')}`,
      ]);
      const git = gitSource(repo, dir);
      for (const who of ['alice@example.com', 'bob@example.com']) {
        const commit = await commitGpg(await fingerprint(who), `services: {} # ${who}\n`);
        const v = await git.verification(commit, openpgp);
        expect(v, who).toMatchObject({ verified: true });
        expect(v.signer).toContain(`<${who}> (OpenPGP ${await fingerprint(who)})`);
      }
      const byEve = await git.verification(
        await commitGpg(await fingerprint('eve@example.com'), 'services: { e: {} }\n'),
        openpgp,
      );
      expect(byEve.verified).toBe(false);
      expect(byEve.why).toContain('is not in the keyring');
      const unsigned = await git.verification(await commitGpg(null, 'services: { u: {} }\n'), openpgp);
      expect(unsigned).toMatchObject({ verified: false, why: 'the commit is not signed' });
      // An SSH-signed commit is not an OpenPGP signature, whoever made it.
      const ssh = await git.verification(await commitSsh(repo.path, alice, { 'a/x': '1' }), openpgp);
      expect(ssh.why).toContain('not with an OpenPGP signature');
      // A keyring holding a secret key is refused: it belongs on the signer's machine only.
      const secret = await gpg('--armor', '--export-secret-keys', 'alice@example.com');
      await expect(describeKeys({ format: 'openpgp', keys: secret }, 'k.asc')).rejects.toThrow(
        /k\.asc holds a private key/,
      );
    }, 60_000);
  });
});

const STACK = `sig${UNIQUE}`;
const compose = (level: string): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      LEVEL: "${level}"
`;

describe.skipIf(!haveDocker)('a source that deploys signed commits only', () => {
  let dir: string;
  let home: string;
  let repo: LocalRepo;
  let alice: SshKey;
  let mallory: SshKey;
  let allowed: string;

  beforeAll(async () => {
    await removeStacks(STACK);
    dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-sigd-'));
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-sigh-'));
    alice = await sshKey(dir, 'alice', ['-t', 'ed25519']);
    mallory = await sshKey(dir, 'mallory', ['-t', 'ed25519']);
    allowed = path.join(dir, 'allowed_signers');
    await writeFile(allowed, `${alice.line('alice@example.com')}\n`);
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose('0'),
      'mooring.yaml': `stacks:\n  ${STACK}: { sync: auto }\n`,
    });
  });

  afterAll(async () => {
    await removeStacks(STACK);
    for (const d of [dir, home, repo.path]) await rm(d, { recursive: true, force: true });
  });

  it('sync refuses an unsigned and a wrongly signed tip and deploys a correctly signed one, recording the signer', async () => {
    const missingFile = await mooring(home, ['source', 'add', 'cfg', repo.path, '--verify', 'ssh']);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('--verify ssh needs --allowed-signers FILE');

    const add = await mooring(home, [
      'source',
      'add',
      'cfg',
      repo.path,
      '--verify',
      'ssh',
      '--allowed-signers',
      allowed,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(
      /Commits must be signed by one of:\n {2}alice@example\.com \(ssh-ed25519 SHA256:/,
    );
    expect(add.stdout).toMatch(/! The tip [0-9a-f]{7} is Unverified \(the commit is not signed\)/);

    expect((await mooring(home, ['source', 'list'])).stdout).toMatch(/SIGNED[\s\S]*cfg .* ssh only /);
    const unsigned = await mooring(home, ['sync', STACK]);
    expect(unsigned.code).toBe(4);
    expect(unsigned.stderr).toContain('Unverified: commit');
    const status = await mooringJson<{ stacks: { name: string; errors: { unverified?: unknown }[] }[] }>(
      home,
      ['status'],
    );
    expect(status.stacks[0]!.errors[0]!.unverified).toEqual({ signer: null });

    await commitSsh(repo.path, mallory, { [`${STACK}/compose.yaml`]: compose('mallory') });
    const wrong = await mooring(home, ['sync', STACK]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/is not an allowed signer; signed by key SHA256:/);
    const none = await mooring(home, ['status', '--json']);
    expect(none.stdout).not.toContain('"container": "');

    const good = await commitSsh(repo.path, alice, { [`${STACK}/compose.yaml`]: compose('alice') });
    const ok = await mooring(home, ['sync', STACK]);
    expect(ok.code, ok.stderr).toBe(0);
    const { runs } = await mooringJson<{
      runs: { revision: string; result: string; signer: string | null; error: string | null }[];
    }>(home, ['history', '--stack', STACK]);
    expect(runs[0]).toMatchObject({ revision: good, result: 'succeeded' });
    expect(runs[0]!.signer).toMatch(/^alice@example\.com \(ssh-ed25519 SHA256:/);
    expect(runs[1]!.error).toContain('Unverified commit, nothing applied');
    expect(runs[1]!.signer).toBeNull();

    // The work tree is never signed: previewed, but not deployed from such a source.
    await writeFile(path.join(repo.path, STACK, 'compose.yaml'), compose('uncommitted'));
    const wt = await mooring(home, ['sync', '--worktree', STACK]);
    expect(wt.code).toBe(2);
    expect(wt.stderr).toContain('a work tree is not signed');
    expect((await mooring(home, ['sync', '--worktree', '--dry-run', STACK])).code).toBe(0);
    await runGit(repo.path, ['checkout', '--', '.']);

    // Mooring signs nothing, so it makes no commit such a source would never deploy.
    const promote = await mooring(home, ['promote', STACK, 'app', 'local/busybox:1']);
    expect(promote.code).toBe(2);
    expect(promote.stderr).toContain('Mooring signs nothing');
    const revert = await mooring(home, ['rollback', STACK, good, '--revert']);
    expect(revert.code).toBe(2);
    expect(revert.stderr).toContain('or roll back without --revert');
  }, 120_000);

  it('the controller deploys nothing of an unverified tip, and the next signed commit', async () => {
    const engine = await Engine.open({ home });
    const controller = new Controller(engine, { pollIntervalMs: 60_000, selfHealDebounceMs: 300 });
    const stack = () => controller.snapshot().stacks.find((s) => s.name === STACK);
    try {
      await controller.start();
      const bad = await commitSsh(repo.path, mallory, {
        [`${STACK}/compose.yaml`]: compose('controller-mallory'),
      });
      await waitFor('the unverified tip seen', () =>
        stack()?.revision === bad && stack()?.errors.some((e) => e.unverified) ? true : null,
      );
      expect(stack()!.errors[0]!.unverified!.signer).toMatch(/^key SHA256:/);
      const env = async (): Promise<string> =>
        (
          await run('docker', [
            'inspect',
            '--format',
            '{{range .Config.Env}}{{println .}}{{end}}',
            `${STACK}-app-1`,
          ])
        ).stdout;
      expect(await env()).toContain('LEVEL=alice');
      const good = await commitSsh(repo.path, alice, {
        [`${STACK}/compose.yaml`]: compose('controller-alice'),
      });
      await waitFor(
        'the signed commit deployed',
        async () => ((await env()).includes('LEVEL=controller-alice') ? true : null),
        20_000,
      );
      const last = engine.history.runs.list({ stack: STACK, limit: 1 })[0];
      expect(last).toMatchObject({ revision: good, trigger: 'auto' });
      expect(last!.signer).toMatch(/^alice@example\.com/);
    } finally {
      await controller.stop();
      engine.close();
    }
  }, 60_000);

  it('--no-verify lifts the requirement; a key file given with the other format is refused', async () => {
    const wrongFlag = await mooring(home, [
      'source',
      'update',
      'cfg',
      '--verify',
      'openpgp',
      '--allowed-signers',
      allowed,
    ]);
    expect(wrongFlag.code).toBe(2);
    expect(wrongFlag.stderr).toContain('--allowed-signers goes with --verify ssh');
    await commitSsh(repo.path, null, { [`${STACK}/compose.yaml`]: compose('unsigned-again') });
    const unverified = (s: { stacks: { errors: { unverified?: unknown }[] }[] }): boolean =>
      s.stacks[0]!.errors.some((e) => e.unverified);
    expect(unverified(await mooringJson(home, ['status']))).toBe(true);
    const off = await mooring(home, ['source', 'update', 'cfg', '--no-verify']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('signatures not required');
    expect(unverified(await mooringJson(home, ['status']))).toBe(false);
  });
});
