// Issue 17, item 2, against the real engine: a rollback deploys the image that ran at the revision it
// rolls back to, even after its tag was moved to another image; `--by-tag` takes the tag as it is now;
// and when the old image is gone (and, built here, has no digest to pull it by) the rollback says so
// and changes nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { MooringError } from '../../electron/engine/errors.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED exact-image rollback tests: no Docker engine answers.');

const STACK = `rbx${UNIQUE}`;
const TAG = `mooring-it/${STACK}:1`;
const CONTAINER = `${STACK}-app-1`;

const compose = (level: string): string => `services:
  app:
    image: ${TAG}
    init: true
    command: ["sleep", "3600"]
    environment:
      LEVEL: "${level}"
`;

describe.skipIf(!haveDocker)('rollback to the exact image', () => {
  let home: string;
  let context: string;
  let repo: LocalRepo;
  let engine: Engine;
  let first: string;
  let firstRun: number;
  let imageA: string;
  let imageB: string;

  /** Builds an image of its own content and gives it TAG (moving the tag from any image before). */
  const buildTagged = async (content: string): Promise<string> => {
    await writeFile(
      path.join(context, 'Dockerfile'),
      `FROM local/busybox:1\nLABEL mooring.test.content="${content}"\n`,
    );
    await docker('build', '-q', '-t', TAG, context);
    return docker('image', 'inspect', '--format', '{{.Id}}', TAG);
  };
  const runningImage = (): Promise<string> => docker('inspect', '--format', '{{.Image}}', CONTAINER);
  const containerId = (): Promise<string> => docker('inspect', '--format', '{{.Id}}', CONTAINER);

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-rbx-'));
    context = await mkdtemp(path.join(os.tmpdir(), 'mooring-rbx-ctx-'));
    imageA = await buildTagged('a');
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: compose('1') });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.path });
    const [r1] = await engine.sync({ stacks: [STACK] });
    expect(r1?.result).toBe('succeeded');
    first = r1!.revision!;
    firstRun = r1!.runId!;
    expect(await runningImage()).toBe(imageA);
    // The tag moves to another image, and a later commit is deployed with it.
    imageB = await buildTagged('b');
    expect(imageB).not.toBe(imageA);
    await repo.commit({ [`${STACK}/compose.yaml`]: compose('2') }, 'level 2');
    const [r2] = await engine.sync({ stacks: [STACK] });
    expect(r2?.result).toBe('succeeded');
    expect(await runningImage()).toBe(imageB);
  }, 120_000);

  afterAll(async () => {
    engine.close();
    await removeStacks(STACK);
    await docker('rmi', '-f', TAG).catch(() => '');
    await docker('rmi', '-f', imageA).catch(() => '');
    await rm(home, { recursive: true, force: true });
    await rm(context, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('the deploy note records the image id that ran', () => {
    const deploys = engine.pipeline.store.deploysOf([first]).get(first) ?? [];
    expect(deploys.find((d) => d.stack === STACK)?.images).toEqual([
      { service: 'app', image: TAG, id: imageA },
    ]);
  });

  it('deploys the image that ran then, not what the tag points to now', async () => {
    const r = await engine.rollback(STACK, first);
    if (r.mode !== 'deploy') throw new Error('expected a deploy');
    expect(r.sync.result).toBe('succeeded');
    expect(await runningImage()).toBe(imageA);
    // Built here, so no registry digest: pinned by the image id.
    expect(r.pinned).toEqual([
      {
        service: 'app',
        tag: TAG,
        image: imageA,
        id: imageA,
        pull: false,
        moved: `${TAG} now points to ${imageB.slice(7, 19)}`,
      },
    ]);
    // The revision's other fields are deployed as they were.
    expect(await docker('inspect', '--format', '{{json .Config.Env}}', CONTAINER)).toContain('"LEVEL=1"');
  });

  it('--by-tag deploys what the tag points to now', async () => {
    const r = await engine.rollback(STACK, first, { byTag: true });
    if (r.mode !== 'deploy') throw new Error('expected a deploy');
    expect(r.pinned).toEqual([]);
    expect(await runningImage()).toBe(imageB);
  });

  it('says before any change when the image a run ran is gone and has no digest to pull it by', async () => {
    // The last deploy of that revision (--by-tag, above) ran the tag's image as it is now: rolling back
    // to it again needs nothing gone. The first run ran the old image.
    await docker('rmi', imageA);
    const again = await engine.rollback(STACK, first);
    if (again.mode !== 'deploy') throw new Error('expected a deploy');
    expect(again.pinned).toEqual([]);
    const before = await containerId();
    const runs = engine.history.runs.list({ stack: STACK }).length;
    const err = await engine.rollback(STACK, first, { run: firstRun }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MooringError);
    const message = (err as MooringError).message;
    expect(message).toContain(`app ran ${imageA.slice(7, 19)} (${TAG})`);
    expect(message).toContain('no longer on this engine');
    expect(message).toContain('Nothing was changed');
    expect(message).toContain('--by-tag');
    expect(await containerId()).toBe(before);
    expect(engine.history.runs.list({ stack: STACK })).toHaveLength(runs);
  });
});
