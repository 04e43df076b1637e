// Issue 15 in browser mode: on an engine that is a Swarm manager (a single-node swarm made here and
// left at the end), a stack synced from the Overview runs as Swarm services; its screen names each
// service and its running tasks, and a `docker service scale` by hand shows as drift of `replicas`.
// The e2e suite runs one test at a time, so no other test sees the swarm.
import { createRepo } from '../helpers/git-repo.ts';
import { docker, removeStacks, removeSwarmStacks } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const STACK = 'e2eswarm';

const compose = `services:
  api:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    deploy:
      replicas: 2
      update_config: { parallelism: 1, failure_action: rollback }
  cache:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`;

test('a stack on a Swarm manager runs as services; a scale by hand is drift', async ({
  page,
  app,
  gitServer,
}) => {
  const made = (await docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim() === 'inactive';
  if (made) await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  try {
    const repo = await createRepo(gitServer, `e2e-swarm-${Date.now()}`, {
      [`${STACK}/compose.yaml`]: compose,
      'mooring.yaml': `stacks:\n  ${STACK}: { sync: manual }\n`,
    });
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    await ui.syncFromOverview(STACK, 60_000);
    await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();
    await expect(ui.serviceRow('api')).toContainText(`Swarm service ${STACK}_api`);
    await expect(ui.serviceRow('api')).toContainText('2/2 running');
    await expect(ui.serviceRow('cache')).toContainText('1/1 running');
    await ui.screenshot('stack-swarm');

    await docker('service', 'scale', '--detach', `${STACK}_api=3`);
    await expect(ui.serviceRow('api')).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 30_000 });
    // A drifting service opens on its field diff.
    await expect(ui.serviceRow('api').getByRole('button', { name: 'api' })).toHaveAttribute(
      'aria-expanded',
      'true',
    );
    const field = page.locator('.diff tr[data-field="replicas"]');
    await expect(field).toContainText('2');
    await expect(field).toContainText('3');
    await ui.screenshot('stack-swarm-drift');
  } finally {
    await removeSwarmStacks(STACK).catch(() => undefined);
    // Had it run as containers (a failed test), they would stay and confuse the next run.
    await removeStacks(STACK).catch(() => undefined);
    if (made) await docker('swarm', 'leave', '--force').catch(() => '');
  }
});
