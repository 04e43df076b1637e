// A benchmark stack three ways: Mooring (a home folder with an http source on a real smart-HTTP git
// server, as a GitOps user has it), docker-compose on the same compose file, and the floor script.
// Each tool gets its own project name and its own loopback ports, so the three can run side by side
// without seeing each other's containers.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';
import {
  busyboxCompose,
  cleanupBench,
  compose,
  freePorts,
  mooring,
  projectContainers,
  removeDir,
  ROOT,
  runOk,
  serviceName,
  stackName,
  tempDir,
  writeComposeFile,
  type ComposeOptions,
  type RunResult,
} from './lib.ts';

export interface StackFixture {
  /** Project names: Mooring's stack, compose's project, the floor script's project. */
  names: { mooring: string; compose: string; floor: string };
  home: string;
  repo: TestRepo;
  composeFile: string;
  /** `mooring ARGS` in this fixture's home folder, timed. */
  mooring(args: string[]): Promise<RunResult>;
  /** `docker-compose -p … -f … ARGS`, timed. */
  compose(args: string[]): Promise<RunResult>;
  /** The floor script: network and containers created and started in parallel, timed. */
  floor(): Promise<RunResult>;
  /** Commits a new compose file for Mooring and writes one for compose (each with its own ports). */
  update(envOf: ComposeOptions['envOf']): Promise<void>;
  /** How many containers of a project are running. */
  running(project: string): Promise<number>;
  /** Removes every container, network and volume of the three projects (not the home or repo). */
  teardown(): Promise<void>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  services: number;
  /** One 127.0.0.1 port per service. */
  ports: boolean;
  /** The named engines mooring.yaml sends Mooring's stack to (default: none named, so `local`). */
  engines?: string[];
}

export async function stackFixture(what: string, opts: FixtureOptions): Promise<StackFixture> {
  const names = {
    mooring: stackName(`${what}-m`),
    compose: stackName(`${what}-c`),
    floor: stackName(`${what}-f`),
  };
  const dir = await tempDir(what);
  let server: GitServer | undefined;
  try {
    server = await startGitServer();
    const home = path.join(dir, 'home');
    const all = opts.ports ? await freePorts(opts.services * 3) : [];
    const ports = {
      mooring: all.slice(0, opts.services),
      compose: all.slice(opts.services, 2 * opts.services),
      floor: all.slice(2 * opts.services),
    };
    const text = (tool: 'mooring' | 'compose', envOf?: ComposeOptions['envOf']): string =>
      busyboxCompose({
        services: opts.services,
        ...(opts.ports ? { ports: ports[tool] } : {}),
        ...(envOf ? { envOf } : {}),
      });
    const repo = await createRepo(server, `${names.mooring}-config`, {
      [`${names.mooring}/compose.yaml`]: text('mooring'),
      ...(opts.engines
        ? { 'mooring.yaml': `stacks:\n  ${names.mooring}: { engines: [${opts.engines.join(', ')}] }\n` }
        : {}),
    });
    await mooring(home, ['source', 'add', 'bench', repo.url]);
    const composeDir = path.join(dir, 'compose');
    await runOk('mkdir', ['-p', composeDir]);
    const composeFile = await writeComposeFile(composeDir, text('compose'));
    const specFile = path.join(dir, 'floor.json');
    await writeFile(
      specFile,
      JSON.stringify({
        project: names.floor,
        network: `${names.floor}_default`,
        image: 'local/busybox:1',
        containers: Array.from({ length: opts.services }, (_, i) => ({
          name: `${names.floor}-${serviceName(i)}-1`,
          service: serviceName(i),
          port: ports.floor[i] ?? null,
        })),
      }),
    );
    const srv = server;
    // Minutes where seconds are normal: a command that hangs is killed and reported, not waited on.
    const timeoutMs = 60_000 + opts.services * 1500;
    return {
      names,
      home,
      repo,
      composeFile,
      mooring: (args) => mooring(home, args, { timeoutMs }),
      compose: (args) => compose(names.compose, composeFile, args, timeoutMs),
      floor: () =>
        runOk(process.execPath, [path.join(ROOT, 'test/bench/floor.mjs'), specFile], { timeoutMs }),
      update: async (envOf) => {
        await repo.commit({ [`${names.mooring}/compose.yaml`]: text('mooring', envOf) }, 'bench: change');
        await writeFile(composeFile, text('compose', envOf));
      },
      running: async (project) =>
        (await projectContainers(project)).filter((c) => c.State === 'running').length,
      teardown: async () => {
        for (const n of Object.values(names)) await cleanupBench(n);
      },
      close: async () => {
        for (const n of Object.values(names)) await cleanupBench(n);
        await srv.close();
        await removeDir(repo.work);
        await removeDir(dir);
      },
    };
  } catch (err) {
    await server?.close();
    await removeDir(dir);
    throw err;
  }
}
