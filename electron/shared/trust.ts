// Trust per source (issue 11, item 6): what each safety setting is called on the command line and in
// the app, so that a refusal, `mooring source trust`, the stack screen's one-step allow and the
// Settings list all speak of an allowance the same way. Plain data: the renderer uses it too.
import type { SafetySettings, TrustGrant, TrustSetting } from './model.ts';

export interface TrustOption {
  /** `mooring source trust SOURCE --flag [VALUE]` */
  flag: string;
  /** The value a list setting takes (a host folder, a capability…); absent for a yes/no setting. */
  value?: string;
  /** What is allowed, as a noun a button can say: "Allow {noun} for source homelab". */
  noun: string;
}

/** Every setting a source can be trusted with. `satisfies` makes a new safety setting need a row here. */
export const TRUST_OPTIONS = {
  bindRoots: { flag: '--bind', value: 'PATH', noun: 'host folder' },
  allowCapAdd: { flag: '--cap', value: 'NAME', noun: 'capability' },
  allowSecurityOpt: { flag: '--security-opt', value: 'OPT', noun: 'security option' },
  allowRuntimes: { flag: '--runtime', value: 'NAME', noun: 'runtime' },
  allowPrivileged: { flag: '--privileged', noun: 'privileged containers' },
  allowHostNamespaces: { flag: '--host-namespaces', noun: "the host's namespaces" },
  allowContainerNamespaces: { flag: '--container-namespaces', noun: 'containers outside the stack' },
  allowDevices: { flag: '--device', noun: 'host devices' },
  allowUnconfined: { flag: '--unconfined', noun: 'any security option (unconfined)' },
  allowDockerSocket: { flag: '--docker-socket', noun: 'the Docker socket' },
  allowCgroupParent: { flag: '--cgroup-parent', noun: 'a cgroup parent of the host' },
  allowSharedPropagation: { flag: '--shared-propagation', noun: 'shared mount propagation' },
  allowHostInterfaces: { flag: '--host-interfaces', noun: "networks on the host's interfaces" },
  allowNetworkDrivers: { flag: '--network-driver', value: 'NAME', noun: 'network driver' },
  allowVolumeDrivers: { flag: '--volume-driver', value: 'NAME', noun: 'volume driver' },
  allowVolumeTypes: { flag: '--volume-type', value: 'TYPE', noun: 'volume file system type' },
  allowExternalSecrets: { flag: '--external-secret', value: 'NAME', noun: 'external secret' },
} as const satisfies Record<TrustSetting, TrustOption>;

export const TRUST_SETTINGS = Object.keys(TRUST_OPTIONS) as TrustSetting[];

/** Whether a setting is a list (it takes a value) rather than yes/no. */
export function isListSetting(setting: TrustSetting): boolean {
  return (TRUST_OPTIONS[setting] as TrustOption).value !== undefined;
}

/** "host folder /mnt/docker-volumes", "privileged containers". */
export function describeGrant(grant: TrustGrant): string {
  const { noun } = option(grant.setting);
  return grant.value === undefined ? noun : `${noun} ${grant.value}`;
}

/** The button's words: "Allow /mnt/docker-volumes for source homelab" (a folder needs no noun). */
export function allowLabel(grant: TrustGrant, source: string): string {
  const what =
    grant.setting === 'bindRoots' && grant.value !== undefined ? grant.value : describeGrant(grant);
  return `Allow ${what} for source ${source}`;
}

/** The one command that grants it (or revokes it). Values are quoted for a POSIX shell where needed. */
export function trustCommand(grant: TrustGrant, source: string, revoke = false): string {
  const { flag } = option(grant.setting);
  const value = grant.value === undefined ? '' : ` ${shellWord(grant.value)}`;
  return `mooring source trust ${source}${revoke ? ' --revoke' : ''} ${flag}${value}`;
}

/** The allowances a partial SafetySettings holds, one grant per list item. */
export function grantsOf(safety: Partial<SafetySettings>): TrustGrant[] {
  const out: TrustGrant[] = [];
  for (const setting of TRUST_SETTINGS) {
    const v = safety[setting];
    if (Array.isArray(v)) for (const value of v) out.push({ setting, value });
    else if (v === true) out.push({ setting });
  }
  return out;
}

/**
 * What to offer for a stack's refusals, one grant per button: each allowance once, and a stack's host
 * folders as the folder they share ("/mnt/docker-volumes/app" for its config and data binds) when they
 * share one below the first level; a lone folder, or folders that share only "/" or "/mnt", as they are.
 */
export function offeredGrants(grants: readonly TrustGrant[]): TrustGrant[] {
  const seen = new Set<string>();
  const out: TrustGrant[] = [];
  const folders: string[] = [];
  for (const g of grants) {
    if (g.setting === 'bindRoots' && g.value !== undefined) {
      folders.push(g.value);
      continue;
    }
    const key = `${g.setting}\0${g.value ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(g);
  }
  const distinct = [...new Set(folders)];
  const shared = distinct.length > 1 ? commonFolder(distinct) : null;
  const bind = shared !== null && shared.split('/').length > 2 ? [shared] : distinct;
  return [...bind.map((value): TrustGrant => ({ setting: 'bindRoots', value })), ...out];
}

/** The deepest folder holding every one of `paths` (absolute, normalized), or null for none but "/". */
function commonFolder(paths: readonly string[]): string | null {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const first = split[0]!;
  let n = 0;
  while (n < first.length && split.every((parts) => parts[n] === first[n])) n++;
  return n === 0 ? null : `/${first.slice(0, n).join('/')}`;
}

function option(setting: TrustSetting): TrustOption {
  return TRUST_OPTIONS[setting];
}

function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
