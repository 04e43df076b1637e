// Trust per source (issue 11, item 6), without an engine: how grants are stored in the local settings,
// how a source's stacks are checked against the global allowances plus its own, what the app offers
// for a stack's refusals, and the one command that grants each.
import { describe, expect, it } from 'vitest';
import { changeTrust, effectiveSafety, listTrust } from '../../electron/engine/trust.ts';
import { parseSettings, type Settings } from '../../electron/engine/settings.ts';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import { allowLabel, offeredGrants, trustCommand } from '../../electron/shared/trust.ts';

const HOMELAB = { name: 'homelab', url: 'https://git.example/me/homelab.git' };
const fresh = (): Settings => ({ safety: { ...DEFAULT_SAFETY, bindRoots: ['/srv'] } });

describe('granting and revoking for one source', () => {
  it("adds to the global lists and yes/no settings for that source's stacks only", () => {
    const settings = fresh();
    changeTrust(
      settings,
      HOMELAB,
      [
        { setting: 'bindRoots', value: '/mnt/docker-volumes/' },
        { setting: 'allowCapAdd', value: 'cap_net_admin' },
        { setting: 'allowPrivileged' },
      ],
      false,
    );
    expect(settings.sources).toEqual({
      homelab: {
        url: HOMELAB.url,
        safety: { bindRoots: ['/mnt/docker-volumes'], allowCapAdd: ['NET_ADMIN'], allowPrivileged: true },
      },
    });
    const mine = effectiveSafety(settings, HOMELAB);
    expect(mine.bindRoots).toEqual(['/srv', '/mnt/docker-volumes']);
    expect(mine.allowCapAdd).toEqual(['NET_ADMIN']);
    expect(mine.allowPrivileged).toBe(true);
    // Another source, and the global settings themselves, are untouched.
    expect(effectiveSafety(settings, { name: 'other', url: 'https://git.example/x.git' })).toEqual(
      settings.safety,
    );
    expect(settings.safety.allowPrivileged).toBe(false);
  });

  it('survives a round trip through settings.json', () => {
    const settings = fresh();
    changeTrust(settings, HOMELAB, [{ setting: 'bindRoots', value: '/mnt/data' }], false);
    const back = parseSettings(JSON.stringify(settings), '/home/me/.mooring/settings.json');
    expect(effectiveSafety(back, HOMELAB).bindRoots).toEqual(['/srv', '/mnt/data']);
  });

  it('applies only while the source has the URL it was granted for', () => {
    const settings = fresh();
    changeTrust(settings, HOMELAB, [{ setting: 'allowDockerSocket' }], false);
    const moved = { name: 'homelab', url: 'https://evil.example/homelab.git' };
    expect(effectiveSafety(settings, moved).allowDockerSocket).toBe(false);
    expect(listTrust(settings, [moved])).toEqual([
      {
        source: 'homelab',
        url: HOMELAB.url,
        known: true,
        applies: false,
        grants: [{ setting: 'allowDockerSocket' }],
      },
    ]);
    expect(listTrust(settings, [])[0]).toMatchObject({ known: false, applies: false });
    // Granting again for the new URL starts over: the old grants were for another repo.
    changeTrust(settings, moved, [{ setting: 'bindRoots', value: '/mnt' }], false);
    expect(settings.sources?.homelab).toEqual({ url: moved.url, safety: { bindRoots: ['/mnt'] } });
  });

  it('revokes one value at a time, and drops an entry left with nothing', () => {
    const settings = fresh();
    changeTrust(
      settings,
      HOMELAB,
      [
        { setting: 'bindRoots', value: '/mnt/a' },
        { setting: 'bindRoots', value: '/mnt/b' },
      ],
      false,
    );
    changeTrust(settings, HOMELAB, [{ setting: 'bindRoots', value: '/mnt/a/' }], true);
    expect(settings.sources?.homelab?.safety).toEqual({ bindRoots: ['/mnt/b'] });
    changeTrust(settings, HOMELAB, [{ setting: 'bindRoots', value: '/mnt/b' }], true);
    expect(settings.sources).toBeUndefined();
  });

  it('refuses grants that cannot be meant', () => {
    const settings = fresh();
    expect(() => {
      changeTrust(settings, HOMELAB, [{ setting: 'bindRoots', value: 'relative/path' }], false);
    }).toThrow(/absolute path/);
    expect(() => {
      changeTrust(settings, HOMELAB, [{ setting: 'bindRoots' }], false);
    }).toThrow(/needs a value/);
    expect(() => {
      changeTrust(settings, HOMELAB, [{ setting: 'allowPrivileged', value: 'yes' }], false);
    }).toThrow(/takes no value/);
    expect(() => {
      changeTrust(settings, { name: 'ghost', url: null }, [{ setting: 'allowPrivileged' }], false);
    }).toThrow(/add it first/);
    expect(settings.sources).toBeUndefined();
  });
});

describe("what the app offers for a stack's refusals", () => {
  it("offers a stack's host folders as the folder they share, below the first level", () => {
    expect(
      offeredGrants([
        { setting: 'bindRoots', value: '/mnt/docker-volumes/app/config' },
        { setting: 'bindRoots', value: '/mnt/docker-volumes/app/data' },
        { setting: 'allowCapAdd', value: 'NET_ADMIN' },
        { setting: 'allowCapAdd', value: 'NET_ADMIN' },
      ]),
    ).toEqual([
      { setting: 'bindRoots', value: '/mnt/docker-volumes/app' },
      { setting: 'allowCapAdd', value: 'NET_ADMIN' },
    ]);
    // A folder and one inside it: the outer one.
    expect(
      offeredGrants([
        { setting: 'bindRoots', value: '/srv/app' },
        { setting: 'bindRoots', value: '/srv/app/data' },
      ]),
    ).toEqual([{ setting: 'bindRoots', value: '/srv/app' }]);
  });

  it('never offers a first-level folder (or /) for folders that share nothing deeper', () => {
    expect(
      offeredGrants([
        { setting: 'bindRoots', value: '/etc/localtime' },
        { setting: 'bindRoots', value: '/etc/timezone' },
        { setting: 'bindRoots', value: '/etc/localtime' },
      ]),
    ).toEqual([
      { setting: 'bindRoots', value: '/etc/localtime' },
      { setting: 'bindRoots', value: '/etc/timezone' },
    ]);
    expect(
      offeredGrants([
        { setting: 'bindRoots', value: '/srv/a' },
        { setting: 'bindRoots', value: '/opt/b' },
      ]),
    ).toHaveLength(2);
  });

  it('says each grant as a button and as the one command, quoted for a shell', () => {
    expect(allowLabel({ setting: 'bindRoots', value: '/mnt/docker-volumes' }, 'homelab')).toBe(
      'Allow /mnt/docker-volumes for source homelab',
    );
    expect(allowLabel({ setting: 'allowCapAdd', value: 'NET_ADMIN' }, 'homelab')).toBe(
      'Allow capability NET_ADMIN for source homelab',
    );
    expect(trustCommand({ setting: 'bindRoots', value: "/mnt/it's here" }, 'homelab')).toBe(
      `mooring source trust homelab --bind '/mnt/it'\\''s here'`,
    );
    expect(trustCommand({ setting: 'allowPrivileged' }, 'homelab', true)).toBe(
      'mooring source trust homelab --revoke --privileged',
    );
  });
});
