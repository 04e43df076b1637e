// Trust per source (issue 11, item 6) through the CLI against the real engine: a stack refused for its
// host folder names the one command that allows it; `mooring source trust` allows it for that source
// alone (another source with the same file stays refused), the stack syncs and the engine makes the
// missing folder as compose does; --list shows it; --revoke refuses the stack again; and a source
// removed and added again from another repo under the same name does not inherit it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceTrustView } from '../../electron/shared/api.ts';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED trust tests: no Docker engine answers.');

const MINE = `trust${UNIQUE}`;
const THEIRS = `trustother${UNIQUE}`;

describe.skipIf(!haveDocker)('trust per source, from the command line', () => {
  let home: string;
  let host: string;
  const compose = (): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes:
      - ${host}/data:/data
`;
  const errorsOf = async (stack: string): Promise<string[]> => {
    const s = await mooringJson<{ stacks: StackStatus[] }>(home, ['status']);
    return s.stacks.find((x) => x.name === stack)!.errors.map((e) => e.message);
  };

  beforeAll(async () => {
    await removeStacks(MINE, THEIRS);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-trust-'));
    host = await mkdtemp(path.join(os.tmpdir(), 'mooring-trust-host-'));
  });
  afterAll(async () => {
    await removeStacks(MINE, THEIRS);
    await rm(home, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
  });

  it('allows a host folder for one source, lists it, revokes it; a new URL does not inherit it', async () => {
    const mine = await createLocalRepo({ [`${MINE}/compose.yaml`]: compose() });
    const theirs = await createLocalRepo({ [`${THEIRS}/compose.yaml`]: compose() });
    expect((await mooring(home, ['source', 'add', 'mine', mine.path])).code).toBe(0);
    expect((await mooring(home, ['source', 'add', 'theirs', theirs.path])).code).toBe(0);

    const [refusal] = await errorsOf(MINE);
    expect(refusal).toContain(`bind mount of ${host}/data is outside the allowed host folders`);
    expect(refusal).toContain(`run \`mooring source trust mine --bind ${host}/data\``);

    const granted = await mooring(home, ['source', 'trust', 'mine', '--bind', host]);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toContain(`Allowed for source mine: host folder ${host}.`);
    expect(await errorsOf(MINE)).toEqual([]);
    expect((await errorsOf(THEIRS))[0]).toContain('outside the allowed host folders');

    const sync = await mooring(home, ['sync', MINE]);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${MINE}-app-1`)).State.Running).toBe(true);
    expect(existsSync(path.join(host, 'data'))).toBe(true);

    const list = await mooringJson<{ trust: SourceTrustView[] }>(home, [
      'source',
      'trust',
      '--list',
      '--json',
    ]);
    expect(list.trust).toEqual([
      {
        source: 'mine',
        url: mine.path,
        known: true,
        applies: true,
        grants: [{ setting: 'bindRoots', value: host }],
      },
    ]);

    const revoked = await mooring(home, ['source', 'trust', 'mine', '--revoke', '--bind', host]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await errorsOf(MINE))[0]).toContain('outside the allowed host folders');
    // The running container is left as it is: a refused stack is not applied, in either direction.
    expect((await inspect(`${MINE}-app-1`)).State.Running).toBe(true);

    expect((await mooring(home, ['source', 'trust', 'mine', '--bind', host])).code).toBe(0);
    expect((await mooring(home, ['source', 'remove', 'mine'])).code).toBe(0);
    const other = await createLocalRepo({ [`${MINE}/compose.yaml`]: compose() });
    expect((await mooring(home, ['source', 'add', 'mine', other.path])).code).toBe(0);
    expect((await errorsOf(MINE))[0]).toContain('outside the allowed host folders');
    const after = await mooring(home, ['source', 'trust', '--list']);
    expect(after.stdout).toContain(`granted for ${mine.path}, which is no longer its URL: not applied`);
  });
});
