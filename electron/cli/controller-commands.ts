// `mooring watch`, `mooring suspend`, `mooring resume`: the controller from the command line. `watch`
// runs the same Controller the desktop app runs, prints one line per thing that happens (or one JSON
// object per line with --json), and stops cleanly on SIGINT/SIGTERM: the run in progress stops at its
// next safe point and is recorded as interrupted, so nothing is left "running" in history.
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import type { ControllerEvent } from '../engine/reconcile/controller.ts';
import { loadEngineSide } from './engine-loader.ts';
import { JSON_SCHEMA_VERSION } from './format.ts';
import type { Io } from './io.ts';
import { requireKnownStacks } from './stacks.ts';

const MIN_INTERVAL_SEC = 5;

function intervalSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < MIN_INTERVAL_SEC) {
    throw new MooringError(
      'usage',
      `--interval is in seconds and at least ${MIN_INTERVAL_SEC} (got "${value}"); polling faster than that only loads the git server.`,
    );
  }
  return n;
}

const MARK = { info: ' ', warn: '!', error: '✗' } as const;

/**
 * One line per log event (routine ones, a fetch that found nothing new, only with `verbose`); with
 * --json, also one per finished run with its result. The other events (status, progress…) are for the
 * desktop app. JSON lines carry schemaVersion, like every --json output.
 */
export function watchLine(e: ControllerEvent, json: boolean, verbose = false): string | null {
  if (json && e.type === 'progress' && e.event.type === 'run-finished') {
    const r = e.event;
    return JSON.stringify({
      schemaVersion: JSON_SCHEMA_VERSION,
      type: 'run-finished',
      at: new Date().toISOString(),
      stack: r.stack,
      source: r.source,
      runId: r.runId,
      result: r.result,
      error: r.error,
    });
  }
  if (e.type !== 'log' || (e.routine && !verbose)) return null;
  if (json) {
    return JSON.stringify({
      schemaVersion: JSON_SCHEMA_VERSION,
      type: 'log',
      at: e.at,
      level: e.level,
      kind: e.kind ?? null,
      stack: e.stack ?? null,
      source: e.source ?? null,
      runId: e.runId ?? null,
      message: e.message,
    });
  }
  const time = new Date(e.at).toTimeString().slice(0, 8);
  const [first = '', ...more] = e.message.split('\n');
  return [`${time} ${MARK[e.level]} ${first}`, ...more.map((l) => `           ${l}`)].join('\n');
}

/** Resolves at the first SIGINT or SIGTERM. A second one gets Node's default: exit at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function registerControllerCommands(program: Command, open: () => Promise<Engine>, io: Io): void {
  program
    .command('watch')
    .description(
      'run the controller until Ctrl-C: auto-sync, self-heal and prune as mooring.yaml says, with a live log',
    )
    .option('--json', 'one JSON object per line')
    .option(
      '--interval <seconds>',
      `how often to fetch each source (at least ${MIN_INTERVAL_SEC})`,
      intervalSeconds,
    )
    .option('--verbose', 'also the routine lines: each fetch that found nothing new')
    .action(async (o: { json?: boolean; interval?: number; verbose?: boolean }) => {
      const engine = await open();
      // Loaded here, not with the engine: every other command starts faster without the controller.
      const { loadController, DEFAULT_POLL_INTERVAL_SEC } = await loadEngineSide();
      const Controller = await loadController();
      const seconds = o.interval ?? engine.settings.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC;
      const controller = new Controller(engine, { pollIntervalMs: seconds * 1000 });
      const unsubscribe = controller.subscribe((e) => {
        const line = watchLine(e, o.json ?? false, o.verbose ?? false);
        if (line !== null) io.out(line);
      });
      try {
        await controller.start();
        const got = await untilSignal();
        if (!o.json) io.err(`${got}: stopping (send it again to quit at once)…`);
      } finally {
        await controller.stop();
        unsubscribe();
      }
    });

  program
    .command('suspend <stack>')
    .description('make the controller leave a stack alone (kept in the home folder) until `mooring resume`')
    .option('--reason <text>', 'why, for whoever looks at it later')
    .action(async (stack: string, o: { reason?: string }) => {
      const engine = await open();
      await requireKnownStacks(engine, [stack]);
      engine.setSuspended(stack, true, o.reason ?? null);
      io.out(
        `Suspended "${stack}": the controller leaves it alone (no auto-sync, self-heal or prune) until \`mooring resume ${stack}\`. A manual \`mooring sync ${stack}\` still works.`,
      );
    });

  program
    .command('resume <stack>')
    .description('let the controller look after a suspended stack again')
    .action(async (stack: string) => {
      const engine = await open();
      await requireKnownStacks(engine, [stack]);
      const was = engine.listSuspended().has(stack);
      engine.setSuspended(stack, false);
      io.out(
        was
          ? `Resumed "${stack}": the controller looks after it again (its retry count starts afresh).`
          : `"${stack}" was not suspended; nothing to do.`,
      );
    });
}
