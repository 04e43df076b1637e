// A stack as Swarm services (swarm/spec.ts), from compose files read by the real loader: the service
// spec docker stack deploy would make, what Swarm cannot do said as a note or refused with what to do,
// and drift that ignores Swarm's own defaults.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY, type DesiredStack } from '../../electron/shared/model.ts';
import { hashService } from '../../electron/engine/engine.ts';
import { foreignServices, planSwarm } from '../../electron/engine/swarm/deploy.ts';
import { specDrift, swarmStack, type SwarmServiceSpec } from '../../electron/engine/swarm/spec.ts';
import { loadComposeText } from '../helpers/compose-text.ts';

const load = (compose: string): Promise<DesiredStack> => loadComposeText(compose);

const LABEL = { source: 'cfg', revision: 'abc', instance: 'home1' };

describe('a stack as Swarm services', () => {
  it('maps deploy, ports, volumes, healthcheck and resources to the Engine API service spec', async () => {
    const stack = await load(`services:
  app:
    image: nginx:1.27
    command: ["nginx", "-g", "daemon off;"]
    environment: { B: "2", A: "1" }
    ports: ["8080:80", "53:53/udp"]
    volumes: ["data:/var/lib/app:ro"]
    healthcheck: { test: ["CMD", "true"], interval: 10s, timeout: 2s, retries: 3 }
    deploy:
      mode: replicated
      replicas: 3
      labels: [team=edge]
      placement:
        constraints: [node.role == manager]
        preferences: [{ spread: node.labels.zone }]
        max_replicas_per_node: 2
      resources:
        limits: { cpus: "0.5", memory: 128m }
        reservations: { cpus: "0.25", memory: 64m }
      restart_policy: { condition: on-failure, max_attempts: 5, delay: 2s, window: 30s }
      update_config: { parallelism: 2, delay: 5s, failure_action: rollback, monitor: 10s, max_failure_ratio: 0.2, order: start-first }
      rollback_config: { parallelism: 0, order: stop-first }
volumes:
  data: {}
`);
    const out = swarmStack(stack, LABEL);
    expect(out.problems).toEqual([]);
    expect(out.networks).toEqual([
      expect.objectContaining({ Name: 'web_default', Driver: 'overlay', Attachable: false }),
    ]);
    const spec = out.services[0]!.spec;
    expect(spec.Name).toBe('web_app');
    expect(spec.Labels).toMatchObject({
      'com.docker.stack.namespace': 'web',
      'com.docker.stack.image': 'nginx:1.27',
      team: 'edge',
      'dev.mooring.managed': 'true',
      'dev.mooring.instance': 'home1',
      'dev.mooring.revision': 'abc',
    });
    expect(spec.TaskTemplate.ContainerSpec).toMatchObject({
      Image: 'nginx:1.27',
      Args: ['nginx', '-g', 'daemon off;'],
      Env: ['A=1', 'B=2'],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 10e9, Timeout: 2e9, Retries: 3 },
      Mounts: [
        expect.objectContaining({
          Type: 'volume',
          Source: 'web_data',
          Target: '/var/lib/app',
          ReadOnly: true,
        }),
      ],
    });
    expect(spec.TaskTemplate.Resources).toEqual({
      Limits: { NanoCPUs: 0.5e9, MemoryBytes: 128 * 1024 ** 2 },
      Reservations: { NanoCPUs: 0.25e9, MemoryBytes: 64 * 1024 ** 2 },
    });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({
      Condition: 'on-failure',
      MaxAttempts: 5,
      Delay: 2e9,
      Window: 30e9,
    });
    expect(spec.TaskTemplate.Placement).toEqual({
      Constraints: ['node.role == manager'],
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      MaxReplicas: 2,
    });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.UpdateConfig).toEqual({
      Parallelism: 2,
      Delay: 5e9,
      FailureAction: 'rollback',
      Monitor: 10e9,
      MaxFailureRatio: 0.2,
      Order: 'start-first',
    });
    expect(spec.RollbackConfig).toEqual({ Parallelism: 0, Order: 'stop-first' });
    expect(spec.EndpointSpec.Ports).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
    ]);
  });

  it('keeps the containers of a stack as they were: what only Swarm reads changes no spec hash', async () => {
    const plain = await load('services:\n  app:\n    image: nginx:1.27\n');
    const swarmy = await load(
      'services:\n  app:\n    image: nginx:1.27\n    deploy:\n      update_config: { parallelism: 2 }\n      labels: { a: b }\n',
    );
    expect(hashService(swarmy.services[0]!)).toBe(hashService(plain.services[0]!));
  });

  it('refuses what Swarm would do differently, saying what to do; notes what it ignores', async () => {
    const ok = await load(`services:
  app:
    image: nginx:1.27
    ports: ["127.0.0.1:8080:80"]
    depends_on: [db]
  db:
    image: postgres:17
    deploy: { mode: global }
`);
    const out = swarmStack(ok, LABEL);
    expect(out.problems).toEqual([
      expect.stringContaining(
        'port 127.0.0.1:8080:80 is bound to one address, and Swarm publishes on every address',
      ),
    ]);
    expect(out.notes).toEqual(['app: depends_on ignored on Swarm']);
    expect(out.services[1]!.spec.Mode).toEqual({ Global: {} });
  });

  it('rejects a misspelt update_config key or value, naming the path', async () => {
    await expect(
      load('services:\n  app:\n    image: x\n    deploy:\n      update_config: { paralelism: 2 }\n'),
    ).rejects.toThrow('deploy.update_config.paralelism: update_config has parallelism');
    await expect(
      load('services:\n  app:\n    image: x\n    deploy:\n      update_config: { failure_action: retry }\n'),
    ).rejects.toThrow('must be continue, pause, rollback');
  });

  it('drift: only the named fields, with the digest Swarm pins, its defaults and orders taken as equal', async () => {
    const stack = await load(
      'services:\n  app:\n    image: nginx:1.27\n    environment: { A: "1", B: "2" }\n    deploy: { replicas: 2 }\n',
    );
    const desired = swarmStack(stack, LABEL).services[0]!.spec;
    // As the engine reports it: digest pinned, defaults filled in, env reordered, a newer revision label.
    const live = structuredClone(desired) as SwarmServiceSpec & Record<string, unknown>;
    live.TaskTemplate.ContainerSpec.Image = `nginx:1.27@sha256:${'a'.repeat(64)}`;
    live.TaskTemplate.ContainerSpec.Env = ['B=2', 'A=1'];
    (live.TaskTemplate.ContainerSpec as Record<string, unknown>).Isolation = 'default';
    (live.TaskTemplate as Record<string, unknown>).ForceUpdate = 0;
    (live.TaskTemplate as Record<string, unknown>).Runtime = 'container';
    live.Labels = { ...live.Labels, 'dev.mooring.revision': 'def' };
    // A port published without a number: Swarm picks one.
    desired.EndpointSpec.Ports = [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' }];
    live.EndpointSpec.Ports = [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'ingress' },
    ];
    expect(specDrift(desired, live)).toEqual([]);

    live.Mode = { Replicated: { Replicas: 5 } };
    live.TaskTemplate.ContainerSpec.Env = ['A=1', 'B=3'];
    live.TaskTemplate.Resources = { Limits: { MemoryBytes: 1024 } };
    expect(specDrift(desired, live)).toEqual([
      { path: 'environment', desired: '["A=1","B=2"]', live: '["A=1","B=3"]' },
      { path: 'replicas', desired: '2', live: '5' },
      {
        path: 'resources',
        desired: '{"limits":{"cpus":0,"memory":0,"pids":0},"reservations":{"cpus":0,"memory":0}}',
        live: '{"limits":{"cpus":0,"memory":1024,"pids":0},"reservations":{"cpus":0,"memory":0}}',
      },
    ]);
  });

  it('plans only what differs, prunes only what this home made, and never takes over a service it did not make', async () => {
    const stack = await load('services:\n  app:\n    image: nginx:1.27\n  db:\n    image: postgres:17\n');
    const spec = swarmStack(stack, LABEL);
    const live = (name: string, labels: Record<string, string>, from?: SwarmServiceSpec) => {
      const base = from ?? swarmStack(stack, LABEL).services[0]!.spec;
      return {
        id: name,
        version: 1,
        spec: { ...structuredClone(base), Name: name, Labels: { ...base.Labels, ...labels } },
        update: null,
      };
    };
    const app = spec.services[0]!.spec;
    const scaled = structuredClone(app);
    scaled.Mode = { Replicated: { Replicas: 3 } };
    const seen = {
      services: [
        live('web_app', {}, scaled),
        live('web_old', { 'com.docker.compose.service': 'old' }),
        live('web_theirs', { 'dev.mooring.instance': 'another-home' }),
      ],
      tasks: [],
      networks: [{ id: 'n1', name: 'web_default', labels: {} }],
      files: [],
    };
    expect(
      planSwarm(spec, seen, { prune: true, instance: 'home1' }).map((a) => [a.kind, a.target, a.reason]),
    ).toEqual([
      ['scale', 'app', 'replicas 3 → 1'],
      ['create', 'db', 'no such service on the swarm'],
      ['remove', 'old', 'no longer declared in git (prune)'],
    ]);
    expect(planSwarm(spec, seen, { prune: false, instance: 'home1' }).map((a) => a.kind)).toEqual([
      'scale',
      'create',
    ]);
    // web_db made by `docker stack deploy` (no Mooring labels): refused, not updated.
    const foreign = { ...seen, services: [...seen.services, live('web_db', { 'dev.mooring.managed': '' })] };
    expect(foreignServices(spec, foreign, 'home1')).toEqual([
      expect.stringContaining('Service web_db is on the swarm and was not made by this Mooring home'),
    ]);
    expect(foreignServices(spec, seen, 'home1')).toEqual([]);
  });
  it('makes a secret or config per content, named by its hash, and removes only the older copies no service uses', async () => {
    const compose = `services:
  app:
    image: nginx:1.27
    secrets: [{ source: pw, target: /etc/pw, uid: "101", mode: 0400 }]
    configs: [site]
  worker:
    image: nginx:1.27
    secrets: [pw]
secrets:
  pw: { environment: PW }
configs:
  site: { content: "server {}" }
`;
    const read = (pw: string) => loadComposeText(compose, DEFAULT_SAFETY, { 'web/.env': `PW=${pw}\n` });
    const v1 = swarmStack(await read('one'), LABEL);
    const v2 = swarmStack(await read('two'), LABEL);
    expect(v1.problems).toEqual([]);
    // One object per content, however many services use it; the name changes with the content only.
    expect(v1.files.map((f) => [f.kind, f.Name])).toEqual([
      ['secrets', expect.stringMatching(/^web_pw_[0-9a-f]{12}$/)],
      ['configs', expect.stringMatching(/^web_site_[0-9a-f]{12}$/)],
    ]);
    expect(v2.files[0]!.Name).not.toBe(v1.files[0]!.Name);
    expect(v2.files[1]!.Name).toBe(v1.files[1]!.Name);
    expect(v1.files[0]!.Labels).toMatchObject({ 'com.docker.stack.namespace': 'web' });
    const app = v1.services[0]!.spec.TaskTemplate.ContainerSpec;
    expect(app.Secrets).toEqual([
      { File: { Name: '/etc/pw', UID: '101', GID: '0', Mode: 0o400 }, SecretName: v1.files[0]!.Name },
    ]);
    expect(app.Configs).toEqual([
      { File: { Name: '/site', UID: '0', GID: '0', Mode: 0o444 }, ConfigName: v1.files[1]!.Name },
    ]);
    expect(v1.services[1]!.spec.TaskTemplate.ContainerSpec.Secrets).toEqual([
      {
        File: { Name: '/run/secrets/pw', UID: '0', GID: '0', Mode: 0o444 },
        SecretName: v1.files[0]!.Name,
      },
    ]);

    // The swarm runs v1 (ids filled in by the engine) and git says v2.
    const live = (spec: SwarmServiceSpec, id: string) => {
      const c = structuredClone(spec);
      const refs = c.TaskTemplate.ContainerSpec.Secrets as { SecretID?: string }[] | undefined;
      for (const r of refs ?? []) r.SecretID = 'sid';
      return { id, version: 1, spec: c, update: null };
    };
    expect(specDrift(v2.services[1]!.spec, live(v1.services[1]!.spec, 'w').spec)).toEqual([
      {
        path: 'secrets',
        desired: `["${v2.files[0]!.Name} at /run/secrets/pw 0:0 444"]`,
        live: `["${v1.files[0]!.Name} at /run/secrets/pw 0:0 444"]`,
      },
    ]);
    const file = (kind: 'secrets' | 'configs', name: string, instance = 'home1') => ({
      kind,
      id: name,
      name,
      labels: { 'dev.mooring.managed': 'true', 'dev.mooring.instance': instance },
    });
    const seen = {
      services: [live(v1.services[0]!.spec, 'a'), live(v1.services[1]!.spec, 'w')],
      tasks: [],
      networks: [{ id: 'n1', name: 'web_default', labels: {} }],
      files: [file('secrets', v1.files[0]!.Name), file('configs', v1.files[1]!.Name)],
    };
    const plan = (s: typeof seen, prune: boolean) =>
      planSwarm(v2, s, { prune, instance: 'home1' }).map((a) => [a.kind, a.target, a.level]);
    expect(plan(seen, false)).toEqual([
      ['create-secret', v2.files[0]!.Name, 0],
      ['recreate', 'app', 1],
      ['recreate', 'worker', 1],
      ['remove-secret', v1.files[0]!.Name, 3],
    ]);
    // A service git no longer declares, left running without prune, keeps the copy it uses; one
    // made by another home is never removed.
    const kept = {
      ...seen,
      services: [
        ...seen.services,
        {
          ...live(v1.services[1]!.spec, 'o'),
          spec: { ...live(v1.services[1]!.spec, 'o').spec, Name: 'web_old' },
        },
      ],
      files: [...seen.files, file('secrets', 'web_pw_theirs', 'another-home')],
    };
    expect(plan(kept, false).map((a) => a[0])).toEqual(['create-secret', 'recreate', 'recreate']);
    expect(plan(kept, true).map((a) => a[0])).toEqual([
      'create-secret',
      'recreate',
      'recreate',
      'remove-secret',
      'remove',
    ]);
  });

  it('refuses a secret from a host file, whose changes Swarm would never see', async () => {
    const stack = await loadComposeText(
      'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { file: /etc/hostname }\n',
      { ...DEFAULT_SAFETY, bindRoots: ['/etc'] },
    );
    expect(swarmStack(stack, LABEL).problems).toEqual([
      expect.stringContaining('secret "pw" is a file of this machine (/etc/hostname)'),
    ]);
  });

  it('refers to an external secret or config by its name on the swarm, in each form compose takes', async () => {
    const stack = await loadComposeText(
      `services:
  app:
    image: nginx:1.27
    secrets: [a, { source: b, target: bee, mode: 0400 }, c]
    configs: [d]
secrets:
  a: { external: true }
  b: { external: "true", name: prod_b }
  c: { external: { name: legacy_c } }
configs:
  d: { external: true }
`,
      { ...DEFAULT_SAFETY, allowExternalSecrets: ['a', 'prod_b', 'legacy_c', 'd'] },
    );
    const out = swarmStack(stack, LABEL);
    expect(out.problems).toEqual([]);
    // Nothing is made of them, and nothing of them is in the stack's own files.
    expect(out.files).toEqual([]);
    expect(out.external).toEqual([
      { kind: 'secrets', Name: 'a' },
      { kind: 'secrets', Name: 'prod_b' },
      { kind: 'secrets', Name: 'legacy_c' },
      { kind: 'configs', Name: 'd' },
    ]);
    const c = out.services[0]!.spec.TaskTemplate.ContainerSpec as unknown as {
      Secrets: { SecretName: string; File: { Name: string; Mode: number } }[];
      Configs: { ConfigName: string; File: { Name: string } }[];
    };
    expect(c.Secrets.map((r) => [r.SecretName, r.File.Name, r.File.Mode])).toEqual([
      ['a', '/run/secrets/a', 0o444],
      ['prod_b', '/run/secrets/bee', 0o400],
      ['legacy_c', '/run/secrets/c', 0o444],
    ]);
    expect(c.Configs.map((r) => [r.ConfigName, r.File.Name])).toEqual([['d', '/d']]);
    // A live copy's older secrets are never taken for its: an external one is never removed.
    const actions = planSwarm(
      out,
      {
        services: [],
        tasks: [],
        networks: [],
        files: [
          {
            kind: 'secrets',
            id: 'x1',
            name: 'a',
            labels: { 'dev.mooring.managed': 'true', 'dev.mooring.instance': 'home1' },
          },
        ],
      },
      { prune: true, instance: 'home1' },
    );
    expect(actions.map((a) => a.kind)).not.toContain('remove-secret');
  });

  it('refuses an external secret that also gives its content, or a name a swarm cannot have', async () => {
    await expect(
      loadComposeText(
        'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: true, file: ./pw }\n',
      ),
    ).rejects.toThrow('secrets.pw: an external secret is not defined here; remove file or external');
    await expect(
      loadComposeText(
        'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: true, name: "no/slash" }\n',
      ),
    ).rejects.toThrow('secrets.pw: "no/slash" is not a name a Swarm secret can have');
    // Swarm's own rule: letters or digits at each end.
    await expect(
      loadComposeText(
        'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: true, name: "-pw" }\n',
      ),
    ).rejects.toThrow('"-pw" is not a name a Swarm secret can have');
    await expect(
      loadComposeText(
        'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: { name: a }, name: b }\n',
      ),
    ).rejects.toThrow('secrets.pw: name "b" and external.name "a" differ; keep one');
  });

  it('refuses an external secret this machine has not allowed, saying how to allow it', async () => {
    await expect(
      loadComposeText(
        'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: true, name: db_pw }\n',
      ),
    ).rejects.toThrow(
      'secrets.pw.external: refused by the safety policy: secret "pw" is external: the swarm\'s db_pw, made there by hand, whose content someone put there for other uses; add db_pw (or ALL) to settings.json safety.allowExternalSecrets',
    );
    // Allowed by name, or all of them.
    for (const allowExternalSecrets of [['db_pw'], ['ALL']])
      await expect(
        loadComposeText(
          'services:\n  app:\n    image: nginx:1.27\n    secrets: [pw]\nsecrets:\n  pw: { external: true, name: db_pw }\n',
          { ...DEFAULT_SAFETY, allowExternalSecrets },
        ),
      ).resolves.toBeTruthy();
  });
});
