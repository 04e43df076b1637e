// `deploy:` on one engine (manifest/deploy.ts): replicas, resources as container limits, restart_policy
// as the restart policy, and what only Swarm uses kept and named.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredService, SafetySettings } from '../../electron/shared/model.ts';
import { hashService } from '../../electron/engine/engine.ts';
import { loadComposeText } from '../helpers/compose-text.ts';

async function load(service: string, safety: SafetySettings = DEFAULT_SAFETY): Promise<DesiredService> {
  const stack = await loadComposeText(`services:\n  app:\n    image: local/busybox:1\n${service}`, safety);
  return stack.services[0]!;
}

describe('deploy on one engine', () => {
  it('reads replicas, limits, reservations and the restart policy', async () => {
    const s = await load(`    deploy:
      replicas: 3
      resources:
        limits: { cpus: "1.5", memory: 256m, pids: 100 }
        reservations: { memory: 64m }
      restart_policy: { condition: any, max_attempts: 4, delay: 5s }
`);
    expect(s.replicas).toBe(3);
    expect(s.passthrough?.hostConfig).toEqual({
      NanoCpus: 1.5e9,
      Memory: 256 * 1024 ** 2,
      PidsLimit: 100,
      MemoryReservation: 64 * 1024 ** 2,
    });
    expect(s.restart).toBe('always');
    expect(s.restartMaxRetries).toBe(4);
    expect(s.swarmOnly).toEqual(['services.app.deploy.restart_policy.delay']);
  });

  it("lets the deploy policy win over restart:, and takes the engine's own policy names", async () => {
    expect(
      (await load('    restart: always\n    deploy: { restart_policy: { condition: none } }\n')).restart,
    ).toBe('no');
    expect((await load('    deploy: { restart_policy: { condition: unless-stopped } }\n')).restart).toBe(
      'unless-stopped',
    );
    expect((await load('    restart: on-failure:5\n')).restartMaxRetries).toBe(5);
  });

  it('keeps what only Swarm acts on, and names it', async () => {
    const s = await load(`    deploy:
      mode: global
      placement: { constraints: ["node.role == manager"] }
      update_config: { parallelism: 1 }
      labels: { a: b }
`);
    expect(s.replicas).toBeUndefined();
    expect(s.swarmOnly).toEqual([
      'services.app.deploy.mode: global (one container on one engine)',
      'services.app.deploy.placement',
      'services.app.deploy.update_config',
      'services.app.deploy.labels',
    ]);
  });

  it('refuses a limit given twice with two values, a fixed name with replicas, and devices by default', async () => {
    await expect(
      load('    mem_limit: 128m\n    deploy: { resources: { limits: { memory: 256m } } }\n'),
    ).rejects.toThrow(/deploy\.resources\.limits\.memory differs from the service's own setting/);
    await expect(
      load('    mem_limit: 256m\n    deploy: { resources: { limits: { memory: 256m } } }\n'),
    ).resolves.toBeDefined();
    await expect(load('    container_name: one\n    deploy: { replicas: 2 }\n')).rejects.toThrow(
      /fixed container name cannot be used with 2 replicas/,
    );
    const gpus =
      '    deploy: { resources: { reservations: { devices: [{ driver: nvidia, count: 1, capabilities: [gpu] }] } } }\n';
    await expect(load(gpus)).rejects.toThrow(/refused by the safety policy.*allowDevices/);
    const allowed = await load(gpus, { ...DEFAULT_SAFETY, allowDevices: true });
    expect(allowed.passthrough?.hostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', Count: 1, DeviceIDs: [], Capabilities: [['gpu']] },
    ]);
  });

  it('scaling does not change the spec hash, so the containers that run stay', async () => {
    const one = await load('    deploy: { replicas: 1 }\n');
    const five = await load('    deploy: { replicas: 5 }\n');
    expect(hashService(one)).toBe(hashService(five));
    const limited = await load('    deploy: { replicas: 1, resources: { limits: { memory: 64m } } }\n');
    expect(hashService(limited)).not.toBe(hashService(one));
  });
});
