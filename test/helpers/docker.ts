// Test helpers around the real Docker engine: the docker CLI for out-of-band changes (as a person
// would make them), and cleanup of what a test created, by its own labels.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
// Debian's client matches the daemon that scripts/setup-test-env.sh starts.
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run(DOCKER, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export async function dockerOk(): Promise<boolean> {
  try {
    await docker('info', '--format', '{{.ServerVersion}}');
    return true;
  } catch {
    return false;
  }
}

/** Removes every container, network and volume of these compose projects, labelled or named. */
export async function removeStacks(...projects: string[]): Promise<void> {
  for (const p of projects) {
    const ids = (await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`))
      .split('\n')
      .filter(Boolean);
    const named = (await docker('ps', '-aq', '--filter', `name=^${p}-`)).split('\n').filter(Boolean);
    const all = [...new Set([...ids, ...named])];
    if (all.length) await docker('rm', '-f', ...all);
    const nets = (await docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`))
      .split('\n')
      .filter(Boolean);
    for (const n of nets) await docker('network', 'rm', n).catch(() => '');
    const vols = (await docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`))
      .split('\n')
      .filter(Boolean);
    if (vols.length) await docker('volume', 'rm', '-f', ...vols).catch(() => '');
  }
}

/**
 * Removes the Swarm services and networks of these stacks (docker stack's namespace label), waiting
 * until their tasks' containers are gone (a network in use cannot be removed).
 */
export async function removeSwarmStacks(...stacks: string[]): Promise<void> {
  const list = async (what: string[], stack: string): Promise<string[]> =>
    (await docker(...what, '--filter', `label=com.docker.stack.namespace=${stack}`))
      .split('\n')
      .filter(Boolean);
  for (const stack of stacks) {
    const services = await list(['service', 'ls', '-q'], stack);
    if (services.length > 0) await docker('service', 'rm', ...services);
    for (let i = 0; i < 200 && (await list(['ps', '-aq'], stack)).length > 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    for (const n of await list(['network', 'ls', '-q'], stack))
      await docker('network', 'rm', n).catch(() => '');
    for (const kind of ['secret', 'config'])
      for (const id of await list([kind, 'ls', '-q'], stack)) await docker(kind, 'rm', id).catch(() => '');
  }
}

export interface Inspected {
  Id: string;
  State: {
    Status: string;
    Running: boolean;
    StartedAt: string;
    Health?: { Status: string; Log: { Start: string; End: string; ExitCode: number; Output: string }[] };
  };
  Config: { Env: string[]; Labels: Record<string, string> };
}

export async function inspect(name: string): Promise<Inspected> {
  const [first] = JSON.parse(await docker('inspect', name)) as Inspected[];
  return first!;
}
