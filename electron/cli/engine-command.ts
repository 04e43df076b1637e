// `mooring engine`: the Docker engines this machine knows by name (issue 15). The names are this
// machine's own (the home's settings, never the repo): `local` is the socket or DOCKER_HOST; others
// are tcp:// with TLS or ssh://user@host, or imported from the docker CLI's contexts.
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import { formatEngines, formatFleet, toJson } from './format.ts';
import type { Io } from './io.ts';

interface AddOptions {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  sshKey?: string;
  knownHosts?: string;
}

export function registerEngineCommand(program: Command, open: () => Promise<Engine>, io: Io): void {
  program
    .command('fleet')
    .description('every stack on every engine it goes to: sync and health on each, and each engine')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const e = await open();
      const fleet = await e.fleet();
      io.out(o.json ? toJson({ fleet }) : formatFleet(fleet, io.color));
    });

  const engine = program.command('engine').description('the Docker engines this machine deploys to, by name');

  engine
    .command('add <name> <endpoint>')
    .description(
      'name an engine: unix:///path, tcp://HOST:PORT with TLS (plain tcp on loopback only), ssh://user@host[:port]',
    )
    .option('--tls-ca <file>', "the CA that signed the engine's certificate")
    .option('--tls-cert <file>', 'the client certificate the engine checks')
    .option('--tls-key <file>', "the client certificate's key")
    .option('--ssh-key <file>', 'SSH private key (default: ssh-agent)')
    .option(
      '--known-hosts <file>',
      "known_hosts to check the host's key against (default: ~/.ssh/known_hosts)",
    )
    .action(async (name: string, endpoint: string, o: AddOptions) => {
      const tls = [o.tlsCa, o.tlsCert, o.tlsKey];
      if (tls.some(Boolean) && !tls.every(Boolean))
        throw new MooringError('usage', 'TLS takes all three: --tls-ca, --tls-cert and --tls-key.');
      const e = await open();
      const probe = await e.engines.add(name, {
        endpoint,
        ...(o.tlsCa && o.tlsCert && o.tlsKey ? { tls: { ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey } } : {}),
        ...(o.sshKey ? { sshKey: o.sshKey } : {}),
        ...(o.knownHosts ? { knownHosts: o.knownHosts } : {}),
      });
      io.out(
        `Engine ${name} added: Docker ${probe.version ?? '?'} at ${endpoint}, ${probe.latencyMs ?? '?'} ms, swarm: ${probe.swarm ?? '?'}.`,
      );
    });

  engine
    .command('list')
    .description('the named engines and what answers at each: version, swarm role, latency')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const e = await open();
      const engines = await e.engines.probeAll();
      io.out(o.json ? toJson({ engines }) : formatEngines(engines));
    });

  engine
    .command('remove <name>')
    .description('forget an engine (nothing on it changes); `local` too')
    .action(async (name: string) => {
      const e = await open();
      await e.engines.remove(name);
      io.out(`Engine ${name} removed from this machine's list; nothing on it was changed.`);
    });

  engine
    .command('import-contexts')
    .description("add the docker CLI's contexts (~/.docker/contexts) as engines")
    .action(async () => {
      const e = await open();
      const result = await e.engines.importContexts();
      if (result.length === 0) {
        io.out('No docker contexts to import (none besides the default, which is `local`).');
        return;
      }
      for (const r of result)
        io.out(
          r.added
            ? `added ${r.name} (${r.endpoint})`
            : `skipped ${r.name} (${r.endpoint}): ${r.reason ?? ''}`,
        );
    });
}
