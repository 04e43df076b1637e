// The safety policy: whoever can push to the config repo can run containers here, so anything that
// escapes the container is refused unless the local settings (never the repo) allow it. Each message
// names what is refused and the setting that allows it.
import { posix } from 'node:path';
import type { Node } from 'yaml';
import type { SafetySettings, TrustGrant } from '../../shared/model.ts';
import { trustCommand } from '../../shared/trust.ts';
import type { YamlFile } from './yaml-file.ts';

const REFUSED = 'refused by the safety policy';

export const safetyMessages = {
  privileged: `${REFUSED}: privileged containers are not allowed; allow them in settings.json safety.allowPrivileged`,
  hostNamespace: (key: string) =>
    `${REFUSED}: \`${key}: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
  hostNetwork: (name: string) =>
    `${REFUSED}: network "${name}" is Docker's host network, which shares the host's network namespace; allow host namespaces in settings.json safety.allowHostNamespaces and write network_mode: host on the service`,
  containerNamespace: (key: string, name: string) =>
    `${REFUSED}: \`${key}: container:${name}\` joins the namespace of a container that is not part of this stack; write service:NAME to share a service of this stack, or allow it in settings.json safety.allowContainerNamespaces`,
  capAdd: (cap: string) =>
    `${REFUSED}: capability ${cap} is not allowed; add it (or ALL) to settings.json safety.allowCapAdd`,
  devices: `${REFUSED}: access to host devices is not allowed; allow it in settings.json safety.allowDevices`,
  securityOpt: (opt: string, effect: string) =>
    `${REFUSED}: security_opt \`${shorten(opt)}\` ${effect}; allow exactly this option by adding its full text (after interpolation) to settings.json safety.allowSecurityOpt (or every security_opt with safety.allowUnconfined)`,
  dockerSocket: (source: string) =>
    `${REFUSED}: mounting ${source} exposes the Docker socket, which controls the whole engine; allow it in settings.json safety.allowDockerSocket`,
  runtime: (name: string, allowed: readonly string[]) =>
    `${REFUSED}: runtime ${name} is not one of the allowed runtimes (${
      allowed.length === 0 ? 'none' : allowed.join(', ')
    }); a runtime decides how the container is isolated from the host. Add it to settings.json safety.allowRuntimes`,
  cgroupParent: (parent: string) =>
    `${REFUSED}: cgroup_parent ${parent} places the container's processes in a cgroup of the host's choosing, outside the engine's own, where the limits the host sets for containers do not apply; allow it in settings.json safety.allowCgroupParent`,
  containerVolumes: (name: string) =>
    `${REFUSED}: \`volumes_from: container:${name}\` mounts the volumes and host folders of a container that is not part of this stack; name a service of this stack instead, or allow it in settings.json safety.allowContainerNamespaces`,
  runtimeAnnotation: (key: string) =>
    `${REFUSED}: annotation ${key} is read by the container runtime, and can change how the container is confined; allow it in settings.json safety.allowUnconfined`,
  hookPrivileged: `${REFUSED}: a privileged hook runs its command with every capability and device of the host; allow privileged containers in settings.json safety.allowPrivileged`,
  sharedPropagation: (mode: string) =>
    `${REFUSED}: bind propagation ${mode} makes mounts made inside the container appear on the host; allow it in settings.json safety.allowSharedPropagation`,
  hostFile: (what: string, source: string, roots: readonly string[]) =>
    `${REFUSED}: ${what} reads ${source}, a host file outside the config repo and outside the allowed host folders (${
      roots.length === 0 ? 'none are configured' : roots.join(', ')
    }); commit the file to the repo and name it by a relative path, or add a folder to settings.json safety.bindRoots`,
  hostInterface: (what: string) =>
    `${REFUSED}: ${what}; allow networks on host interfaces in settings.json safety.allowHostInterfaces`,
  networkDriver: (driver: string) =>
    `${REFUSED}: network driver ${driver} is a plugin of the engine, which acts on the host as root as its options ask; add ${driver} (or ALL) to settings.json safety.allowNetworkDrivers`,
  externalSecret: (what: string, name: string) =>
    `${REFUSED}: ${what} is external: the swarm's ${name}, made there by hand, whose content someone put there for other uses; add ${name} (or ALL) to settings.json safety.allowExternalSecrets`,
  volumeDriver: (driver: string) =>
    `${REFUSED}: volume driver ${driver} is a plugin of the engine, which acts on the host as root as its options ask (some bind any host folder); add ${driver} (or ALL) to settings.json safety.allowVolumeDrivers`,
  volumeType: (type: string, from: string) =>
    `${REFUSED}: the volume mounts a file system of type ${type}${from}, which the host's kernel mounts as root (a host disk, or a share on another machine reached from this host); add ${type} (or ALL) to settings.json safety.allowVolumeTypes`,
  bindRoot: (source: string, roots: readonly string[]) =>
    `${REFUSED}: bind mount of ${source} is outside the allowed host folders (${
      roots.length === 0 ? 'none are configured' : roots.join(', ')
    }); add a folder to settings.json safety.bindRoots`,
};

/** Capability names compare without the `CAP_` prefix and case, as Docker accepts both. */
export function normalizeCap(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}

/** Whether a list setting names `value`, or ALL. */
export function listed(allowed: readonly string[], value: string): boolean {
  return allowed.includes('ALL') || allowed.includes(value);
}

export function capAllowed(cap: string, safety: SafetySettings): boolean {
  return listed(safety.allowCapAdd.map(normalizeCap), normalizeCap(cap));
}

// security_opt is an allowlist (issue 10, hole 2): an inline seccomp profile `seccomp={"defaultAction":
// "SCMP_ACT_ALLOW"}` switches the filter off as surely as `seccomp=unconfined`, and so do an AppArmor
// profile of the repo's choosing or an SELinux label such as `type:spc_t`. Only no-new-privileges, which
// can only take privileges away, passes on its own; everything else needs the local settings.

/** Go's strconv.ParseBool, which Docker uses for the value of no-new-privileges. */
const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/**
 * What an option would do, for the refusal, or null when it is harmless. Split the way dockerd splits it
 * (at the first `=`, or else at the first `:`); keys are case-sensitive there, so `Seccomp=…` is not a
 * seccomp option but an unknown one, and refused as such.
 */
export function securityOptEffect(opt: string): string | null {
  if (opt === 'no-new-privileges') return null;
  // dockerd reads a bare `disable` as label=disable.
  if (opt === 'disable') return 'turns SELinux labeling off (Docker reads it as label=disable)';
  const sep = opt.includes('=') ? opt.indexOf('=') : opt.indexOf(':');
  const key = sep < 0 ? opt : opt.slice(0, sep);
  const value = sep < 0 ? '' : opt.slice(sep + 1);
  switch (key) {
    case 'no-new-privileges':
      if (TRUE.includes(value)) return null;
      // false is Docker's default, except on an engine started with --no-new-privileges, which the
      // repo must not be able to undo.
      if (FALSE.includes(value))
        return 'lets processes gain privileges, which this engine may forbid by default';
      return 'is not a valid no-new-privileges value';
    case 'seccomp':
      return value === 'unconfined'
        ? 'turns the seccomp filter off'
        : 'replaces the default seccomp profile, and a profile can allow every system call';
    case 'apparmor':
      return value === 'unconfined'
        ? 'turns AppArmor off'
        : 'replaces the default AppArmor profile, and a profile can allow anything';
    case 'label':
      return value === 'disable'
        ? 'turns SELinux labeling off'
        : 'sets the SELinux label, and a label such as type:spc_t runs the container unconfined';
    case 'systempaths':
      return 'unmasks the /proc and /sys paths that Docker hides from containers';
    case 'mask':
    case 'unmask':
      return 'changes which /proc and /sys paths are hidden from the container';
    case 'writable-cgroups':
      return 'makes the cgroup filesystem writable';
    default:
      return 'is not an option the safety policy knows';
  }
}

/** Null when the settings allow `opt`, else why it is refused. */
export function refusedSecurityOpt(opt: string, safety: SafetySettings): string | null {
  if (safety.allowUnconfined || safety.allowSecurityOpt.includes(opt)) return null;
  return securityOptEffect(opt);
}

/** An option for a message: an inline profile can be thousands of characters long. */
function shorten(text: string): string {
  return text.length > 80
    ? `${text.slice(0, 80)}… (${text.length.toLocaleString('en-US')} characters)`
    : text;
}

/** Where a refusal is reported, and the source whose stack it is (unknown to some callers and tests). */
export interface RefusalContext {
  yaml: YamlFile;
  source?: string | undefined;
}

/**
 * Reports a refusal of the safety policy at `node`. `message` names the setting that allows it for every
 * source; where the stack's source is known, the one command that allows it for that source alone is
 * added (issue 11, item 6), and the grant goes with the error, so that the app offers it in one step.
 */
export function refuse(
  ctx: RefusalContext,
  node: Node | null | undefined,
  path: string,
  message: string,
  grant: TrustGrant,
): void {
  const forSource =
    ctx.source === undefined
      ? ''
      : `; to allow it for source ${ctx.source} only, run \`${trustCommand(grant, ctx.source)}\` (settings.json sources.${ctx.source}.safety.${grant.setting}) or press Allow on the stack`;
  ctx.yaml.errorAt(node, `${path}: ${message}${forSource}`, grant);
}

/** Lexically normalized absolute path without a trailing slash (except the root itself). */
export function normalizeHostPath(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

const SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

/**
 * The socket itself, anything named like it, or a folder that contains it: mounting `/var/run`
 * exposes the socket as surely as mounting the file.
 */
export function exposesDockerSocket(hostPath: string): 'socket' | 'folder' | null {
  const p = normalizeHostPath(hostPath);
  if (SOCKETS.includes(p) || p.endsWith('docker.sock')) return 'socket';
  return SOCKETS.some((s) => isUnder(s, p)) ? 'folder' : null;
}

/** Whether `path` is `root` or below it, at a folder boundary (`/srv/app` is not under `/srv/ap`). */
export function isUnder(path: string, root: string): boolean {
  const p = normalizeHostPath(path);
  const r = normalizeHostPath(root);
  if (!r.startsWith('/')) return false;
  return r === '/' || p === r || p.startsWith(`${r}/`);
}

export function underBindRoots(path: string, safety: SafetySettings): boolean {
  return safety.bindRoots.some((root) => isUnder(path, root));
}
