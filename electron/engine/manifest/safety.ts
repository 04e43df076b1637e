// The safety policy: whoever can push to the config repo can run containers here, so anything that
// escapes the container is refused unless the local settings (never the repo) allow it. Each message
// names what is refused and the setting that allows it.
import { posix } from 'node:path';
import type { SafetySettings } from '../../shared/model.ts';

const REFUSED = 'refused by the safety policy';

export const safetyMessages = {
  privileged: `${REFUSED}: privileged containers are not allowed; allow them in settings.json safety.allowPrivileged`,
  hostNamespace: (key: string) =>
    `${REFUSED}: \`${key}: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
  capAdd: (cap: string) =>
    `${REFUSED}: capability ${cap} is not allowed; add it (or ALL) to settings.json safety.allowCapAdd`,
  devices: `${REFUSED}: access to host devices is not allowed; allow it in settings.json safety.allowDevices`,
  unconfined: (opt: string) =>
    `${REFUSED}: \`${opt}\` turns confinement off; allow it in settings.json safety.allowUnconfined`,
  dockerSocket: (source: string) =>
    `${REFUSED}: mounting ${source} exposes the Docker socket, which controls the whole engine; allow it in settings.json safety.allowDockerSocket`,
  bindRoot: (source: string, roots: readonly string[]) =>
    `${REFUSED}: bind mount of ${source} is outside the allowed host folders (${
      roots.length === 0 ? 'none are configured' : roots.join(', ')
    }); add a folder to settings.json safety.bindRoots`,
};

/** Capability names compare without the `CAP_` prefix and case, as Docker accepts both. */
export function normalizeCap(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}

export function capAllowed(cap: string, safety: SafetySettings): boolean {
  const allowed = safety.allowCapAdd.map(normalizeCap);
  return allowed.includes('ALL') || allowed.includes(normalizeCap(cap));
}

const UNCONFINING =
  /^(seccomp[:=]unconfined|apparmor[:=]unconfined|label[:=]disable|systempaths[:=]unconfined)$/i;

export function isUnconfining(opt: string): boolean {
  return UNCONFINING.test(opt.trim());
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
