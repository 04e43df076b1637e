// Named engines over TLS and SSH (issue 15), against the real local engine reached the way a remote
// one is: through Debian's sshd on a loopback port (the docker CLI's `dial-stdio` on the far side),
// and through a TLS listener that checks client certificates. Keys and certificates are made here.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProbe, FleetView } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';
import {
  haveRemoteTools,
  startSshd,
  startTlsProxy,
  type Sshd,
  type TlsProxy,
} from '../helpers/remote-engines.ts';

const run = promisify(execFile);
const haveDocker = await dockerOk();
const missing = haveDocker ? haveRemoteTools() : 'no Docker engine answers';
if (missing) console.warn(`SKIPPED remote engine tests: ${missing} (run scripts/setup-test-env.sh as root).`);

const STACK = `rmt${UNIQUE}`;
const FILES = `rmtfiles${UNIQUE}`;
const WIDE = `rmtwide${UNIQUE}`;
const MOVED = `rmtmoved${UNIQUE}`;
const compose = `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`;

describe.skipIf(missing !== null)('engines over TLS and SSH', () => {
  let base: string;
  let sshd: Sshd;
  let tls: TlsProxy;
  let repo: string;

  beforeAll(async () => {
    await removeStacks(STACK, FILES);
    base = await mkdtemp(path.join(os.tmpdir(), 'mooring-remote-'));
    [sshd, tls] = await Promise.all([
      startSshd(path.join(base, 'ssh')),
      startTlsProxy(path.join(base, 'tls')),
    ]);
    repo = (
      await createLocalRepo({
        [`${STACK}/compose.yaml`]: compose,
        [`${FILES}/compose.yaml`]: `${compose}    volumes:\n      - ./conf:/etc/app:ro\n`,
        [`${FILES}/conf/app.conf`]: 'x=1\n',
        [`${WIDE}/compose.yaml`]: `services:\n${Array.from(
          { length: 8 },
          (_, i) => `  s${i}:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n`,
        ).join('')}`,
        // Where each stack goes: by the names each home maps (none of them to `local`).
        'mooring.yaml': `stacks:\n  ${STACK}: { engines: [secure, box] }\n  ${FILES}: { engines: [secure] }\n  ${WIDE}: { engines: [box] }\n`,
      })
    ).path;
  }, 60_000);
  afterAll(async () => {
    sshd.stop();
    tls.stop();
    await removeStacks(STACK, FILES, WIDE);
    await rm(base, { recursive: true, force: true });
  });

  /** A home of its own, with the repo as source `cfg`, and `local` removed unless asked to keep it. */
  async function home(keepLocal = false): Promise<string> {
    const h = await mkdtemp(path.join(base, 'home-'));
    expect((await mooring(h, ['source', 'add', 'cfg', repo])).code).toBe(0);
    if (!keepLocal) expect((await mooring(h, ['engine', 'remove', 'local'])).code).toBe(0);
    return h;
  }

  it('refuses what cannot work or is unsafe, saying what to give instead', async () => {
    const h = await home(true);
    const open = await mooring(h, ['engine', 'add', 'lan', 'tcp://192.0.2.10:2375']);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('without TLS would let anyone on the network run containers as root');
    const half = await mooring(h, [
      'engine',
      'add',
      'half',
      `tcp://127.0.0.1:${tls.port}`,
      '--tls-ca',
      tls.client.ca,
    ]);
    expect(half.stderr).toContain('TLS takes all three');
    const scheme = await mooring(h, ['engine', 'add', 'odd', 'npipe:////./pipe/docker_engine']);
    expect(scheme.stderr).toContain('Unsupported endpoint');
    const dup = await mooring(h, ['engine', 'add', 'local', 'unix:///var/run/docker.sock']);
    expect(dup.stderr).toContain('An engine named local exists');
    const unknown = await mooring(h, ['--engine', 'nosuch', 'status']);
    expect(unknown.stderr).toContain('No engine named nosuch');
  });

  it('a stack goes only to the engines mooring.yaml names; a name this machine does not map is said, not an error of the stack', async () => {
    const h = await home(true);
    const status = await mooring(h, ['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(
      `${FILES}: goes to secure (not configured here), not local: add the engine with \`mooring engine add secure ENDPOINT\``,
    );
    const json = await mooringJson<{
      stacks: unknown[];
      engine: string;
      elsewhere: { stack: string; engines: { name: string; configured: boolean }[] }[];
    }>(h, ['status']);
    expect(json.engine).toBe('local');
    expect(json.stacks).toEqual([]);
    expect(json.elsewhere.find((x) => x.stack === STACK)!.engines).toEqual([
      { name: 'secure', configured: false },
      { name: 'box', configured: false },
    ]);
    // Named on the command line: refused with where it goes, and nothing is deployed here.
    const sync = await mooring(h, ['sync', STACK]);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toContain(
      `${STACK}: goes to secure (not configured here), box (not configured here), not local`,
    );
    expect(await docker('ps', '-aq', '--filter', `name=^${STACK}-`)).toBe('');
  });

  it('a stack moved to another engine is, for the engine it left, one git no longer declares: a prune removes it there', async () => {
    const moved = await createLocalRepo({
      [`${MOVED}/compose.yaml`]: compose,
      [`${MOVED}b/compose.yaml`]: compose,
    });
    try {
      const h = await mkdtemp(path.join(base, 'home-'));
      expect((await mooring(h, ['source', 'add', 'cfg', moved.path])).code).toBe(0);
      expect((await mooring(h, ['sync', MOVED])).code).toBe(0);
      await moved.commit({ 'mooring.yaml': `stacks:\n  ${MOVED}: { engines: [staging] }\n` }, 'to staging');
      const status = await mooringJson<{
        stacks: { name: string; deletedInGit?: boolean; warnings: string[] }[];
      }>(h, ['status']);
      expect(status.stacks.find((s) => s.name === MOVED)).toMatchObject({
        deletedInGit: true,
        warnings: [`Stack "${MOVED}" goes to staging now, not local: a prune removes it here.`],
      });
      const prune = await mooring(h, ['sync', '--prune']);
      expect(prune.code, prune.stderr).toBe(0);
      expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${MOVED}`)).toBe('');
    } finally {
      await removeStacks(MOVED, `${MOVED}b`);
      await rm(moved.path, { recursive: true, force: true });
    }
  });

  it('TLS: the local daemon again is refused; once local is removed it is added, listed and deploys; a wrong CA or a foreign client certificate is refused', async () => {
    const endpoint = `tcp://127.0.0.1:${tls.port}`;
    const args = (f: { ca: string; cert: string; key: string }): string[] => [
      '--tls-ca',
      f.ca,
      '--tls-cert',
      f.cert,
      '--tls-key',
      f.key,
    ];
    const kept = await home(true);
    const twice = await mooring(kept, ['engine', 'add', 'secure', endpoint, ...args(tls.client)]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/reaches the same Docker daemon \(ID .+\) as engine local/);

    const h = await home();
    const wrongCa = await mooring(h, [
      'engine',
      'add',
      'secure',
      endpoint,
      ...args({ ...tls.client, ca: tls.otherCa }),
    ]);
    expect(wrongCa.code).toBe(3);
    expect(wrongCa.stderr).toMatch(/does not answer: .*(self.signed|unable to verify|certificate)/i);
    const stranger = await mooring(h, ['engine', 'add', 'secure', endpoint, ...args(tls.stranger)]);
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toContain('does not answer');

    const added = await mooring(h, ['engine', 'add', 'secure', endpoint, ...args(tls.client)]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Engine secure added: Docker \S+ at tcp:\/\/127\.0\.0\.1:\d+/);
    const list = await mooringJson<{ engines: EngineProbe[] }>(h, ['engine', 'list']);
    expect(list.engines).toEqual([
      expect.objectContaining({
        name: 'secure',
        transport: 'tls',
        reachable: true,
        swarm: 'none',
        error: null,
      }),
    ]);
    // The key files stay where they are: the settings name them.
    const { readFile } = await import('node:fs/promises');
    const settings = await readFile(path.join(h, 'settings.json'), 'utf8');
    expect(settings).toContain(tls.client.key);
    expect(settings).not.toContain('PRIVATE KEY');

    const sync = await mooring(h, ['--engine', 'secure', 'sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${STACK}-app-1`)).State.Running).toBe(true);
    const status = await mooringJson<{ stacks: { name: string; sync: string }[] }>(h, [
      '--engine',
      'secure',
      'status',
    ]);
    expect(status.stacks.find((s) => s.name === STACK)?.sync).toBe('Synced');
    // The run is the engine's: its history row and its deploy note name it.
    const history = await mooringJson<{ runs: { stack: string; engine: string }[] }>(h, ['history']);
    expect(history.runs[0]).toMatchObject({ stack: STACK, engine: 'secure' });
    expect((await mooring(h, ['history'])).stdout).toMatch(new RegExp(`${STACK}\\s+secure\\s`));
    const { stdout: note } = await run('git', ['-C', repo, 'notes', '--ref=mooring', 'show', 'HEAD']);
    expect(JSON.parse(note.trim().split('\n').pop()!)).toMatchObject({ stack: STACK, engine: 'secure' });
    const log = await mooringJson<{ commits: { deploys: { stack: string; engine: string }[] }[] }>(h, [
      'log',
    ]);
    expect(log.commits[0]!.deploys[0]).toMatchObject({ stack: STACK, engine: 'secure' });
    // The fleet: each stack on each engine it names, with the engine's own health; a name this machine
    // does not map is said as such.
    const { fleet } = await mooringJson<{ fleet: FleetView }>(h, ['--engine', 'secure', 'fleet']);
    expect(fleet).toMatchObject({ current: 'secure', unconfigured: ['box'] });
    expect(fleet.engines).toEqual([expect.objectContaining({ name: 'secure', reachable: true })]);
    expect(fleet.rows.find((r) => r.stack === STACK)?.cells).toEqual([
      expect.objectContaining({ engine: 'box', configured: false, sync: null }),
      expect.objectContaining({ engine: 'secure', configured: true, sync: 'Synced', health: 'Healthy' }),
    ]);
    expect(fleet.rows.find((r) => r.stack === FILES)?.cells).toEqual([
      expect.objectContaining({ engine: 'secure', sync: 'Missing' }),
    ]);
    const fleetText = (await mooring(h, ['--engine', 'secure', 'fleet'])).stdout;
    expect(fleetText).toMatch(new RegExp(`${STACK}\\s+cfg\\s+Synced Healthy\\s+not configured here`));
    expect(fleetText).toContain('box is not configured here: add it with `mooring engine add box ENDPOINT`.');
    // A stack this engine is not named for is said, with the engine that is.
    expect((await mooring(h, ['--engine', 'secure', 'status'])).stdout).toContain(
      `${WIDE}: goes to box (not configured here), not secure`,
    );
    await removeStacks(STACK);
    // Files from git live on this machine: a stack mounting one is refused on a remote engine, untouched.
    const files = await mooring(h, ['--engine', 'secure', 'sync', FILES]);
    expect(files.code).not.toBe(0);
    expect(`${files.stdout}${files.stderr}`).toContain(
      `mounts ${FILES}/conf from the config repo, which Mooring places on this machine, not where the engine at tcp://127.0.0.1:${tls.port} runs`,
    );
    expect(await docker('ps', '-aq', '--filter', `name=^${FILES}-`)).toBe('');
  });

  it('SSH: added with a key and known_hosts, deploys through the far side’s docker; an unknown or changed host key and a key not authorized are refused', async () => {
    const endpoint = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
    const h = await home();
    const add = (...extra: string[]): ReturnType<typeof mooring> =>
      mooring(h, ['engine', 'add', 'box', endpoint, ...extra]);

    const unknown = await add('--ssh-key', sshd.key, '--known-hosts', sshd.emptyKnownHosts);
    expect(unknown.stderr).toContain(`its host key is not in ${sshd.emptyKnownHosts}`);
    const changed = await add('--ssh-key', sshd.key, '--known-hosts', sshd.wrongKnownHosts);
    expect(changed.stderr).toContain('its host key is not the one');
    const refused = await add('--ssh-key', sshd.strangerKey, '--known-hosts', sshd.knownHosts);
    expect(refused.stderr).toContain('the key was refused');
    const noKey = await mooring(h, ['engine', 'add', 'box', endpoint, '--known-hosts', sshd.knownHosts], {
      ...process.env,
      SSH_AUTH_SOCK: '',
    });
    expect(noKey.stderr).toContain('No SSH key for');
    expect((await mooringJson<{ engines: EngineProbe[] }>(h, ['engine', 'list'])).engines).toEqual([]);

    const ok = await add('--ssh-key', sshd.key, '--known-hosts', sshd.knownHosts);
    expect(ok.code, ok.stderr).toBe(0);
    const list = await mooringJson<{ engines: EngineProbe[] }>(h, ['engine', 'list']);
    expect(list.engines).toEqual([
      expect.objectContaining({ name: 'box', transport: 'ssh', reachable: true }),
    ]);
    expect(list.engines[0]!.latencyMs).toBeGreaterThan(0);

    const sync = await mooring(h, ['--engine', 'box', 'sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${STACK}-app-1`)).State.Running).toBe(true);

    await removeStacks(STACK);
    // The server goes away: the engine is listed as unreachable, with SSH's reason; removing it is allowed.
    sshd.stop();
    const gone = await mooringJson<{ engines: EngineProbe[] }>(h, ['engine', 'list']);
    expect(gone.engines).toEqual([
      expect.objectContaining({
        name: 'box',
        reachable: false,
        error: expect.stringContaining('connection refused') as string,
      }),
    ]);
    expect((await mooring(h, ['engine', 'remove', 'box'])).code).toBe(0);
    expect((await mooring(h, ['engine', 'list'])).stdout).toContain('No engines.');
  });

  it('SSH: a sync of 8 services at once on a server that allows 2 sessions per connection: through the forwarded socket (not a session), and through dial-stdio on more connections where forwarding is refused', async () => {
    // The shared server is stopped by the test above: this one starts its own two.
    const servers = await Promise.all([
      startSshd(path.join(base, 'ssh-open'), ['MaxSessions 2']),
      startSshd(path.join(base, 'ssh-strict'), ['AllowStreamLocalForwarding no', 'MaxSessions 2']),
    ]);
    try {
      for (const s of servers) {
        const h = await home();
        const settings = {
          engines: {
            box: {
              endpoint: `ssh://${s.user}@127.0.0.1:${s.port}`,
              sshKey: s.key,
              knownHosts: s.knownHosts,
            },
          },
        };
        await writeFile(path.join(h, 'settings.json'), JSON.stringify(settings));
        const sync = await mooring(h, ['--engine', 'box', 'sync', WIDE]);
        expect(sync.code, sync.stdout + sync.stderr).toBe(0);
        const running = await docker(
          'ps',
          '-q',
          '--filter',
          `label=com.docker.compose.project=${WIDE}`,
          '--filter',
          'status=running',
        );
        expect(running.split('\n').filter(Boolean)).toHaveLength(8);
        await removeStacks(WIDE);
      }
    } finally {
      for (const s of servers) s.stop();
    }
  });

  it("imports the docker CLI's contexts: one with TLS is added, one that skips verification is not", async () => {
    const h = await home();
    const config = path.join(base, 'docker-config');
    const context = async (id: string, meta: object, withTls: boolean): Promise<void> => {
      await mkdir(path.join(config, 'contexts', 'meta', id), { recursive: true });
      await writeFile(path.join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify(meta));
      if (!withTls) return;
      const dir = path.join(config, 'contexts', 'tls', id, 'docker');
      await mkdir(dir, { recursive: true });
      const { copyFile } = await import('node:fs/promises');
      await copyFile(tls.client.ca, path.join(dir, 'ca.pem'));
      await copyFile(tls.client.cert, path.join(dir, 'cert.pem'));
      await copyFile(tls.client.key, path.join(dir, 'key.pem'));
    };
    await context(
      'a1',
      { Name: 'secure-box', Endpoints: { docker: { Host: `tcp://127.0.0.1:${tls.port}` } } },
      true,
    );
    await context(
      'b2',
      { Name: 'careless', Endpoints: { docker: { Host: 'tcp://192.0.2.1:2376', SkipTLSVerify: true } } },
      false,
    );
    const r = await mooring(h, ['engine', 'import-contexts'], { ...process.env, DOCKER_CONFIG: config });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`added secure-box (tcp://127.0.0.1:${tls.port})`);
    expect(r.stdout).toContain('skipped careless (tcp://192.0.2.1:2376): it skips TLS verification');
    const list = await mooringJson<{ engines: EngineProbe[] }>(h, ['engine', 'list']);
    expect(list.engines.map((e) => [e.name, e.transport, e.reachable])).toEqual([
      ['secure-box', 'tls', true],
    ]);
  });
});
