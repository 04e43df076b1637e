// 14. Remote engines (issue 15): a cold sync, a no-op sync and `mooring status` of one stack, with the
// engine reached three ways from three homes: its socket, TLS with client certificates (socat in front
// of the socket) and SSH (Debian's sshd on a loopback port running `docker system dial-stdio`). The
// daemon is the same, so the differences are the transports'. Each command is a new process.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { haveRemoteTools, startSshd, startTlsProxy } from '../helpers/remote-engines.ts';
import {
  check,
  progress,
  ratio,
  spread,
  stats,
  table,
  tempDir,
  removeDir,
  times,
  type BenchOutput,
  type Size,
  type TargetCheck,
} from './lib.ts';
import { stackFixture, type StackFixture } from './stack-fixture.ts';

const PLAN: Record<Size, { services: number; trials: number }> = {
  full: { services: 20, trials: 5 },
  small: { services: 3, trials: 1 },
};

type Way = 'socket' | 'TLS' | 'SSH';

/**
 * Makes the fixture's home act on `engine` for every command. The settings file is written directly:
 * `mooring engine add` refuses a second name for a daemon the home reaches already (it is the same one).
 */
async function useEngine(f: StackFixture, engine: Record<string, unknown> | null): Promise<void> {
  const file = path.join(f.home, 'settings.json');
  const settings = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  settings.engines = engine ? { far: engine } : {};
  await writeFile(file, JSON.stringify(settings, null, 2));
}

export async function remoteEngines(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const missing = haveRemoteTools();
  if (missing !== null) {
    progress(`remote engines: skipped, ${missing}`);
    return {
      id: 'remote-engines',
      title: 'Remote engines',
      section: `## 14. Remote engines\n\nNot measured: ${missing}.\n`,
      numbers: {},
      targets: [],
    };
  }
  const dir = await tempDir('remote');
  const sshd = await startSshd(path.join(dir, 'ssh'));
  const tls = await startTlsProxy(path.join(dir, 'tls'));
  const ways: { way: Way; engine: Record<string, unknown> | null }[] = [
    { way: 'socket', engine: null },
    {
      way: 'TLS',
      engine: { endpoint: `tcp://127.0.0.1:${tls.port}`, tls: tls.client },
    },
    {
      way: 'SSH',
      engine: {
        endpoint: `ssh://${sshd.user}@127.0.0.1:${sshd.port}`,
        sshKey: sshd.key,
        knownHosts: sshd.knownHosts,
      },
    },
  ];
  const numbers: Record<string, number[]> = {};
  const medians: Record<string, Record<Way, number>> = { cold: {}, noop: {}, status: {} } as never;
  const rows: string[][] = [];
  try {
    for (const { way, engine } of ways) {
      const f = await stackFixture(`remote-${way.toLowerCase()}`, {
        services: plan.services,
        ports: true,
        ...(engine ? { engines: ['far'] } : {}),
      });
      const cold: number[] = [];
      const noop: number[] = [];
      const status: number[] = [];
      try {
        await useEngine(f, engine);
        const args = (cmd: string[]): string[] => (engine ? ['--engine', 'far', ...cmd] : cmd);
        for (let t = 0; t < plan.trials; t++) {
          cold.push((await f.mooring(args(['sync']))).ms);
          if ((await f.running(f.names.mooring)) !== plan.services)
            throw new Error(`${way}: the sync left fewer than ${plan.services} containers running`);
          noop.push((await f.mooring(args(['sync']))).ms);
          status.push((await f.mooring(args(['status']))).ms);
          await f.teardown();
        }
      } finally {
        await f.close();
      }
      for (const [what, values] of [
        ['cold', cold],
        ['noop', noop],
        ['status', status],
      ] as const) {
        numbers[`${what} ${way} N=${plan.services}`] = values;
        medians[what]![way] = stats(values).median;
      }
      rows.push([way, spread(cold), spread(noop), spread(status)]);
      progress(
        `remote ${way}: cold ${Math.round(stats(cold).median)} ms, no-op ${Math.round(stats(noop).median)} ms, status ${Math.round(stats(status).median)} ms`,
      );
    }
  } finally {
    sshd.stop();
    tls.stop();
    await removeDir(dir);
  }
  const targets: TargetCheck[] = [];
  for (const way of ['TLS', 'SSH'] as const) {
    const r = ratio(medians.cold![way], medians.cold!.socket);
    targets.push(check(`cold sync of ${plan.services} over ${way} / socket`, '≤ 1.50×', times(r), r <= 1.5));
  }
  const section = `## 14. Remote engines

One stack of ${plan.services} services (busybox, a loopback port each) deployed from scratch, synced again
with nothing to do, and its status read, each command a new process, from three homes that reach the
same local daemon three ways: its socket; TLS with client certificates (socat with certificates made by
openssl, in front of the socket); SSH (Debian's sshd on a loopback port, the engine's socket forwarded
over one SSH connection). ${plan.trials} trials each, the stack removed between them.

${table(['transport', 'cold sync', 'no-op sync', 'status'], rows)}

Ratios to the socket: cold sync TLS ${times(ratio(medians.cold!.TLS, medians.cold!.socket))}, SSH ${times(ratio(medians.cold!.SSH, medians.cold!.socket))};
no-op sync TLS ${times(ratio(medians.noop!.TLS, medians.noop!.socket))}, SSH ${times(ratio(medians.noop!.SSH, medians.noop!.socket))};
status TLS ${times(ratio(medians.status!.TLS, medians.status!.socket))}, SSH ${times(ratio(medians.status!.SSH, medians.status!.socket))}.
A no-op and a status are a few requests, so a new process's TLS handshakes (socat forks and handshakes
for each connection) or SSH login weigh most there; a cold sync is mostly the engine's own work.

Target: a cold sync over TLS or SSH ≤ 1.50× the socket's.
`;
  return { id: 'remote-engines', title: 'Remote engines', section, numbers, targets };
}
