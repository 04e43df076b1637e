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

function option(setting: TrustSetting): TrustOption {
  return TRUST_OPTIONS[setting];
}

function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
