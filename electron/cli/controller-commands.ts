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
 * desktop app. JSON lines carry schemaVersion, like every --json output. `engine`: the engine the
 * controller drives, named in each line when several run (`--all-engines`).
 */
export function watchLine(
  e: ControllerEvent,
  json: boolean,
  verbose = false,
  engine?: string,
): string | null {
  const on = engine ? { engine } : {};
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
      ...on,
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
      ...on,
    });
  }
  const time = new Date(e.at).toTimeString().slice(0, 8);
  const [first = '', ...more] = e.message.split('\n');
  const where = engine ? `${engine}: ` : '';
  return [`${time} ${MARK[e.level]} ${where}${first}`, ...more.map((l) => `           ${l}`)].join('\n');
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
    .option(
      '--all-engines',
      'also keep every other engine mooring.yaml sends stacks to (and this machine maps), each line naming its engine',
    )
    .action(async (o: { json?: boolean; interval?: number; verbose?: boolean; allEngines?: boolean }) => {
      const engine = await open();
      // Loaded here, not with the engine: every other command starts faster without the controller.
      const { loadController, loadOtherControllers, DEFAULT_POLL_INTERVAL_SEC } = await loadEngineSide();
      const Controller = await loadController();
      const seconds = o.interval ?? engine.settings.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC;
      const make = (e: Engine, options?: { fetches: false }): InstanceType<typeof Controller> =>
        new Controller(e, { pollIntervalMs: seconds * 1000, ...options });
      const print = (e: ControllerEvent, name?: string): void => {
        const line = watchLine(e, o.json ?? false, o.verbose ?? false, name);
        if (line !== null) io.out(line);
      };
      const controller = make(engine);
      // With --all-engines, a controller per other engine the repo names, each line naming its engine;
      // started and stopped as the repo changes, as the app does.
      const others = o.allEngines
        ? new (await loadOtherControllers())(engine, make, {
            event: (name, e) => {
              print(e, name);
            },
            failed: (name, err) => {
              io.err(`Engine ${name}: ${err instanceof Error ? err.message : String(err)}`);
            },
            changed: () => undefined,
          })
        : null;
      // What the repo names is read again after the controller's looks, at most twice a second.
      let following: NodeJS.Timeout | undefined;
      let stopping = false;
      const follow = (): void => {
        following = undefined;
        const s = controller.snapshot();
        void others?.follow(s.stacks, s.elsewhere);
      };
      const unsubscribe = controller.subscribe((e) => {
        print(e, others ? engine.engineName : undefined);
        // The other engines' controllers follow its fetches rather than fetching themselves.
        if (e.type === 'source') others?.sourcesFetched();
        if (others && !stopping && !following && (e.type === 'status' || e.type === 'source'))
          following = setTimeout(follow, 500);
      });
      try {
        await controller.start();
        follow();
        const got = await untilSignal();
        if (!o.json) io.err(`${got}: stopping (send it again to quit at once)…`);
      } finally {
        stopping = true;
        clearTimeout(following);
        await Promise.all([controller.stop(), others?.stop()]);
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
