// The `mooring` command: a thin adapter over the engine. Parses arguments, calls the engine,
// prints for people (or JSON for machines), and maps failures to the documented exit codes:
// 0 ok, 1 drift or failed run, 2 usage, 3 source or engine unreachable, 4 invalid manifest.
//
// This file and the command files only declare the commands (their arguments, options and help) and
// what each does; the engine itself is loaded by the first command that opens it (engine-loader.ts),
// so that `--help` and usage errors start in a fraction of the time (docs/benchmarks.md, cli-start).
// Only type imports of the engine here, and values of modules that import nothing heavy: the build
// refuses anything else (scripts/build-cli.mjs).
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { WORKTREE, type CommitVerify, type StackStatus } from '../shared/model.ts';
import type { Engine, SyncResult } from '../engine/engine.ts';
import { MooringError, errorMessage } from '../engine/errors.ts';
import type { ProgressEvent } from '../engine/reconcile/apply.ts';
import { credentialsInUrlMessage, splitUserinfo } from '../engine/source/url-credentials.ts';
import { registerCompletion } from './completion.ts';
import { registerControllerCommands } from './controller-commands.ts';
import { loadEngineSide } from './engine-loader.ts';
import {
  formatHistory,
  formatLog,
  formatPlan,
  formatSources,
  formatElsewhere,
  formatStatus,
  formatWorktree,
  positiveInt,
  toJson,
} from './format.ts';
import type { Io } from './io.ts';
import { registerPipelineCommands } from './pipeline-commands.ts';
import { registerServe } from './serve-command.ts';
import { refuseElsewhere, requireKnownStacks, targetsOnEveryEngine } from './stacks.ts';
import { registerTrustCommand } from './trust-command.ts';
import type { Spinner } from './spinner.ts';
import { registerWebhookCommand } from './webhook-command.ts';
import { registerEngineCommand } from './engine-command.ts';

interface VerifyFlags {
  verify?: 'ssh' | 'openpgp';
  allowedSigners?: string;
  keyring?: string;
}

function verifyFormat(): Option {
  return new Option('--verify <format>', 'deploy only commits signed by an allowed key').choices([
    'ssh',
    'openpgp',
  ]);
}

/** The keys a source's commits must be signed by, read from the file the flags name; undefined: not given. */
function verifyOptions(o: VerifyFlags): CommitVerify | undefined {
  const file = o.verify === 'ssh' ? o.allowedSigners : o.verify === 'openpgp' ? o.keyring : undefined;
  const stray =
    o.verify === 'ssh'
      ? o.keyring && '--keyring'
      : o.verify === 'openpgp'
        ? o.allowedSigners && '--allowed-signers'
        : (o.allowedSigners && '--allowed-signers') || (o.keyring && '--keyring');
  if (stray)
    throw new MooringError(
      'usage',
      `${stray} goes with --verify ${stray === '--keyring' ? 'openpgp' : 'ssh'}.`,
    );
  if (!o.verify) return undefined;
  if (!file) {
    throw new MooringError(
      'usage',
      o.verify === 'ssh'
        ? '--verify ssh needs --allowed-signers FILE (lines of "principal keytype key", as for gpg.ssh.allowedSignersFile).'
        : '--verify openpgp needs --keyring FILE (public keys, from `gpg --export --armor KEYID`).',
    );
  }
  let keys: string;
  try {
    if (statSync(file).size > 1 << 20) throw new Error('it is larger than 1 MiB');
    keys = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MooringError('usage', `Cannot read ${file}: ${errorMessage(err)}`);
  }
  return { format: o.verify, keys };
}

/** After a source's keys are set: who may sign, and whether its tip is signed by one of them. */
async function printVerification(e: Engine, name: string, io: Io): Promise<void> {
  const v = await e.verifyTip(name);
  if (!v) return;
  io.out(`Commits must be signed by one of:\n${v.signers.map((s) => `  ${s}`).join('\n')}`);
  io.out(
    v.verification.verified
      ? `The tip ${v.tip.slice(0, 7)} is signed by ${v.verification.signer}.`
      : `! The tip ${v.tip.slice(0, 7)} is Unverified (${v.verification.why}${v.verification.signer ? `; signed by ${v.verification.signer}` : ''}): nothing of it will be deployed.`,
  );
}

/** `--worktree` is the revision "worktree"; with `--revision` too, which one is meant is unclear. */
function revisionOption(o: { revision?: string; worktree?: boolean }): string | null {
  if (o.worktree && o.revision)
    throw new MooringError('usage', '--worktree and --revision name two revisions; give one.');
  return o.worktree ? WORKTREE : (o.revision ?? null);
}

export const EXIT = { ok: 0, drift: 1, usage: 2, unreachable: 3, manifest: 4 } as const;

const defaultIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  color: process.stdout.isTTY && !process.env.NO_COLOR,
  live: process.stderr.isTTY && !('CI' in process.env) && process.env.TERM !== 'dumb',
};

function exitFor(err: unknown): number {
  if (err instanceof MooringError) {
    switch (err.code) {
      case 'usage':
      case 'not-found':
        return EXIT.usage;
      case 'unreachable':
        return EXIT.unreachable;
      case 'manifest':
        return EXIT.manifest;
      default:
        return EXIT.drift;
    }
  }
  return EXIT.drift;
}

function statusExit(statuses: StackStatus[], engine: Engine): number {
  if (statuses.some((s) => s.errors.length > 0)) return EXIT.manifest;
  const unreachable =
    statuses.some((s) => s.sync === 'Unknown' && s.errors.length === 0) ||
    engine.listSources().some((s) => s.lastError !== null);
  return unreachable ? EXIT.unreachable : EXIT.ok;
}

/** The exit code that says the most of several: an invalid manifest, then unreachable, usage, failed. */
function worstExit(codes: number[]): number {
  const rank: number[] = [EXIT.ok, EXIT.drift, EXIT.usage, EXIT.unreachable, EXIT.manifest];
  return codes.reduce<number>((a, b) => (rank.indexOf(b) > rank.indexOf(a) ? b : a), EXIT.ok);
}

function syncExit(results: SyncResult[]): number {
  if (results.some((r) => r.result === 'invalid')) return EXIT.manifest;
  if (results.some((r) => r.result === 'failed' || r.result === 'locked')) return EXIT.drift;
  return EXIT.ok;
}

/**
 * Prints a sync's progress to stderr, a line per change. On a terminal, a spinner under the lines says
 * what runs now and for how long (a health wait may take minutes); `stop` clears it.
 */
function progressPrinter(
  io: Io,
  spinner: Spinner | null,
  engine?: string,
): { onProgress: (e: ProgressEvent) => void; stop: () => void } {
  // With several engines, each stack is named with the engine it syncs on.
  const named = (stack: string): string => (engine ? `${stack} on ${engine}` : stack);
  const idle = new Set<string>(); // stacks with nothing to do: one "already in sync" line says it
  // What each action last said it waits for: a line per change, not one per engine event.
  const waiting = new Map<string, string>();
  const onProgress = (e: ProgressEvent): void => {
    switch (e.type) {
      case 'run-started':
        if (e.actions.length === 0) {
          idle.add(e.stack);
          break;
        }
        io.err(
          `sync ${named(e.stack)} @ ${e.revision.slice(0, 7)}: ${e.actions.length} action(s) (run ${e.runId})`,
        );
        break;
      case 'action-started':
        // Each action says when it starts (a build then prints its output under it).
        io.err(
          `  … ${e.action.kind} ${e.action.target}${e.action.kind === 'build' ? `: ${e.action.reason}` : ''}`,
        );
        spinner?.show(`${e.action.kind} ${e.action.target}`);
        break;
      case 'action-waiting': {
        const line = `  … ${e.action.kind} ${e.action.target}: waiting for ${e.for}${e.detail ? ` (healthcheck said: ${e.detail.split('\n')[0]})` : ''}`;
        const key = `${e.runId}/${e.index}`;
        if (waiting.get(key) !== line) io.err(line);
        waiting.set(key, line);
        spinner?.show(`${e.action.kind} ${e.action.target}: waiting for ${e.for}`);
        break;
      }
      case 'action-output':
        io.err(`    | ${e.line}`);
        break;
      case 'action-finished':
        spinner?.stop();
        io.err(
          `  ${e.error ? '✗' : '✓'} ${e.action.kind} ${e.action.target} (${e.ms} ms)${e.error ? `: ${e.error}` : ''}`,
        );
        break;
      case 'run-finished':
        spinner?.stop();
        if (idle.has(e.stack) && e.result === 'succeeded') break;
        io.err(`${named(e.stack)}: ${e.result}${e.error ? ` — ${e.error}` : ''}`);
        break;
      default:
        break;
    }
  };
  return { onProgress, stop: () => spinner?.stop() };
}

export async function main(
  argv: string[],
  io: Io = defaultIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let exitCode = EXIT.ok as number;
  let engine: Engine | undefined;
  const program = new Command('mooring');

  const open = async (): Promise<Engine> => {
    const { home, engine: named } = program.opts<{ home?: string; engine?: string }>();
    const { Engine, defaultHome } = await loadEngineSide();
    engine = await Engine.open({ home: home ?? defaultHome(env), env });
    if (named) engine.useEngine(named);
    // One line, on stderr so --json output stays parseable; a command that must write fails on its own.
    if (engine.readOnly)
      io.err(`! ${engine.home} is read-only: showing what is there, but history cannot be written.`);
    return engine;
  };

  program
    .description('GitOps for a Docker engine: make the containers match a git config repo of Compose files.')
    .addOption(new Option('--home <dir>', 'data folder (default: $MOORING_HOME, else the app-data folder)'))
    .addOption(
      new Option('--engine <name>', 'the named engine to act on (`mooring engine list`; default: local)'),
    )
    .showHelpAfterError('(run `mooring --help` for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  const source = program.command('source').description('manage config repos');
  source
    .command('add <name> <url-or-path>')
    .description('add a config repo (http(s) URL or local path) and fetch it')
    .option('--branch <branch>', 'branch to follow (default: the remote default branch)')
    .option('--path <path>', 'sub-folder that holds the stacks')
    .option('--token-env <var>', 'environment variable that holds an HTTP token (the token is never stored)')
    .addOption(verifyFormat())
    .option(
      '--allowed-signers <file>',
      'with --verify ssh: the keys allowed to sign (ssh-keygen ALLOWED SIGNERS format)',
    )
    .option(
      '--keyring <file>',
      'with --verify openpgp: the public keys allowed to sign (gpg --export --armor)',
    )
    .action(
      async (
        name: string,
        url: string,
        o: { branch?: string; path?: string; tokenEnv?: string } & VerifyFlags,
      ) => {
        // Before the home is even opened: nothing of a URL with a password may reach it (issue 10).
        const credentials = splitUserinfo(url);
        if (credentials) {
          const { home } = program.opts<{ home?: string }>();
          throw new MooringError(
            'usage',
            credentialsInUrlMessage({ name, url: credentials.url, branch: o.branch, path: o.path, home }),
          );
        }
        const verify = verifyOptions(o);
        const e = await open();
        const { source: s, fetch } = await e.addSource({
          name,
          url,
          branch: o.branch,
          path: o.path,
          tokenEnv: o.tokenEnv,
          ...(verify ? { verify } : {}),
        });
        if (fetch.error) {
          io.err(`Added source "${s.name}", but the first fetch failed: ${fetch.error}`);
          exitCode = EXIT.unreachable;
        } else {
          io.out(
            `Added source "${s.name}" (${s.url}) at ${fetch.head?.slice(0, 7) ?? '?'}, ${fetch.newCommits} commit(s) cached.`,
          );
          if (verify) await printVerification(e, s.name, io);
        }
      },
    );
  source
    .command('list')
    .description('list config repos and their last fetch')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const e = await open();
      const sources = e.listSources();
      io.out(o.json ? toJson({ sources }) : formatSources(sources));
    });
  source
    .command('update <name>')
    .description("change a config repo's branch, sub-folder or token variable")
    .option('--branch <branch>', 'branch to follow')
    .option('--path <path>', 'sub-folder that holds the stacks')
    .option('--token-env <var>', 'environment variable that holds an HTTP token (the token is never stored)')
    .option('--no-token-env', 'use no token')
    .addOption(verifyFormat())
    .option('--allowed-signers <file>', 'with --verify ssh: the keys allowed to sign')
    .option('--keyring <file>', 'with --verify openpgp: the public keys allowed to sign')
    .option('--no-verify', 'deploy commits whether signed or not')
    .action(
      async (
        name: string,
        o: { branch?: string; path?: string; tokenEnv?: string | false } & Omit<VerifyFlags, 'verify'> & {
            verify?: VerifyFlags['verify'] | false;
          },
      ) => {
        const verify = o.verify === false ? null : verifyOptions({ ...o, verify: o.verify });
        const e = await open();
        const s = await e.updateSource(name, {
          ...(o.branch !== undefined ? { branch: o.branch } : {}),
          ...(o.path !== undefined ? { path: o.path } : {}),
          ...(o.tokenEnv !== undefined ? { tokenEnv: o.tokenEnv === false ? null : o.tokenEnv } : {}),
          ...(verify !== undefined ? { verify } : {}),
        });
        io.out(
          `Updated source "${s.name}" (${s.url}): branch ${s.branch ?? '(default)'}, path ${s.path || '/'}, token ${s.tokenEnv ? `from $${s.tokenEnv}` : 'none'}, ${s.verify ? `${s.verify.format} signatures required` : 'signatures not required'}. Run \`mooring fetch ${s.name}\` to use it.`,
        );
        if (s.verify) await printVerification(e, s.name, io);
      },
    );
  source
    .command('remove <name>')
    .description('forget a config repo (its containers stay until pruned)')
    .action(async (name: string) => {
      const e = await open();
      e.removeSource(name);
      io.out(`Removed source "${name}".`);
    });

  registerTrustCommand(source, open, io);

  program
    .command('fetch [source]')
    .description('fetch new commits from one or every source')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, o: { json?: boolean }) => {
      const e = await open();
      const results = await e.fetch(name);
      if (o.json) io.out(toJson({ results }));
      for (const r of results) {
        if (r.error) io.err(r.error);
        else if (!o.json)
          io.out(`${r.source}: ${r.head?.slice(0, 7) ?? '?'} (${r.newCommits} new commit(s))`);
      }
      if (results.some((r) => r.error)) exitCode = EXIT.unreachable;
    });

  program
    .command('status [stacks...]')
    .description(
      'sync status and health of every stack (exit 3 if a source or the engine is unreachable, 4 if a manifest or a source cannot be read)',
    )
    .option('--json', 'machine-readable output')
    .action(async (stacks: string[], o: { json?: boolean }) => {
      const e = await open();
      await requireKnownStacks(e, stacks);
      const unreadable: { source: string; error: string }[] = [];
      const found: Parameters<Engine['elsewhere']>[0] = [];
      const statuses = await e.status({
        stacks,
        onUnreadable: (source, error) => unreadable.push({ source, error }),
        elsewhere: found,
      });
      const elsewhere = e.elsewhere(found).filter((x) => stacks.length === 0 || stacks.includes(x.stack));
      if (o.json) io.out(toJson({ stacks: statuses, unreadable, engine: e.engineName, elsewhere }));
      else {
        if (statuses.length > 0 || elsewhere.length === 0)
          io.out(formatStatus(statuses, io.color, e.listSources()));
        for (const x of elsewhere) io.out(formatElsewhere(x, e.engineName));
      }
      for (const u of unreadable) {
        io.err(`! Source "${u.source}" cannot be read, so its stacks are not shown: ${u.error}`);
      }
      exitCode = unreadable.length > 0 ? EXIT.manifest : statusExit(statuses, e);
    });

  program
    .command('diff [stacks...]')
    .description('what differs between git and the engine (exit 0 none, 1 drift, >1 error)')
    .option('--revision <rev>', 'compare against this commit or ref instead of the branch tip')
    .option(
      '--worktree',
      'compare the work tree of local sources, uncommitted files included (what committing would change)',
    )
    .option('--json', 'machine-readable output')
    .action(async (stacks: string[], o: { revision?: string; worktree?: boolean; json?: boolean }) => {
      const revision = revisionOption(o);
      const e = await open();
      if (!revision) await requireKnownStacks(e, stacks);
      const worktrees = o.worktree ? await e.worktrees() : [];
      const statuses = await e.status({ stacks, revision });
      const drifting = statuses.filter((s) => s.sync !== 'Synced');
      if (o.json) io.out(toJson({ stacks: drifting, ...(o.worktree ? { worktrees } : {}) }));
      else {
        for (const w of worktrees) io.out(formatWorktree(w));
        io.out(formatStatus(drifting, io.color, [], true));
      }
      const code = statusExit(statuses, e);
      exitCode = code !== EXIT.ok ? code : drifting.length > 0 ? EXIT.drift : EXIT.ok;
    });

  program
    .command('sync [stacks...]')
    .description('make the engine match git: plan, then apply')
    .option('--revision <rev>', 'deploy this commit or ref instead of the branch tip')
    .option(
      '--prune',
      'also remove what git no longer declares: services, and (without STACKS) stacks whose folder was deleted',
    )
    .option(
      '--allow-empty',
      'with --prune: remove the deleted stacks even when a commit deleted all (or most) of a source',
    )
    .option(
      '--worktree',
      "deploy the work tree of local sources, uncommitted files included (with --dry-run: preview what committing would change); recorded as a 'worktree' run",
    )
    .option('--dry-run', 'print the plan, change nothing')
    .option(
      '--all-engines',
      'on every engine mooring.yaml sends the stacks to (and this machine maps), one after another; with --prune and no STACKS, every engine this machine maps',
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        stacks: string[],
        o: {
          allEngines?: boolean;
          revision?: string;
          worktree?: boolean;
          prune?: boolean;
          allowEmpty?: boolean;
          dryRun?: boolean;
          json?: boolean;
        },
      ) => {
        if (o.allowEmpty && !o.prune) throw new MooringError('usage', '--allow-empty goes with --prune.');
        const revision = revisionOption(o);
        if (o.worktree && o.prune && !stacks.length) {
          throw new MooringError(
            'usage',
            '--worktree --prune needs the stacks named: a folder missing from the work tree is not a stack deleted in git.',
          );
        }
        const e = await open();
        if (o.worktree && !o.json) for (const w of await e.worktrees()) io.out(formatWorktree(w));
        // Each engine, one after another (the one in use first); one that fails holds up none of the others.
        const { targets, unconfigured } = o.allEngines
          ? await targetsOnEveryEngine(e, stacks, { revision, prune: o.prune ?? false })
          : { targets: [{ name: e.engineName, stacks }], unconfigured: [] };
        for (const u of unconfigured) {
          io.err(
            `! ${u.stacks.join(', ')} ${u.stacks.length === 1 ? 'goes' : 'go'} to ${u.name}, which this machine does not map: not synced there (\`mooring engine add ${u.name} ENDPOINT\`).`,
          );
        }
        const results: (SyncResult & { engine?: string })[] = [];
        const failures: { engine: string; error: string; exit: number }[] = [];
        for (const t of targets) {
          const on = e.onEngine(t.name);
          const label = o.allEngines ? t.name : undefined;
          const printer =
            o.json || o.dryRun
              ? null
              : progressPrinter(io, io.live ? new (await loadEngineSide()).Spinner() : null, label);
          try {
            const got = await on
              .sync({
                stacks: t.stacks,
                revision,
                prune: o.prune ?? false,
                allowEmpty: o.allowEmpty ?? false,
                dryRun: o.dryRun ?? false,
                trigger: o.worktree ? 'worktree' : 'cli',
                ...(printer ? { onProgress: printer.onProgress } : {}),
              })
              .finally(() => printer?.stop());
            results.push(...got.map((r) => (label ? { ...r, engine: label } : r)));
          } catch (err) {
            // A stack named here that goes to other engines: say where, rather than "no such stack".
            if (!label && err instanceof MooringError && err.code === 'not-found')
              await refuseElsewhere(e, stacks);
            if (!label) throw err;
            io.err(`mooring: ${t.name}: ${errorMessage(err)}`);
            failures.push({ engine: t.name, error: errorMessage(err), exit: exitFor(err) });
          }
        }
        if (o.json) io.out(toJson(o.allEngines ? { results, failures, unconfigured } : { results }));
        else if (o.dryRun) io.out(results.map((r) => formatPlan(r, r.engine)).join('\n'));
        for (const r of results) {
          const stack = r.engine ? `${r.stack} on ${r.engine}` : r.stack;
          // A run that never got a plan printed no progress: its error is said here.
          if (r.result === 'invalid' || r.result === 'locked' || (r.result === 'failed' && r.plan === null))
            io.err(`${stack}: ${r.error ?? ''}`);
          if (r.note?.error) io.err(`${stack}: ${r.note.error}`);
          if (!o.json && !o.dryRun && r.result === 'succeeded' && r.plan?.actions.length === 0) {
            io.out(`${stack}: already in sync at ${r.revision?.slice(0, 7) ?? '?'}`);
          }
        }
        if (o.worktree && !o.dryRun && !o.json && results.some((r) => r.runId !== null)) {
          io.out(
            'note: deployed from uncommitted files (recorded as a "worktree" run, with no deploy note); a running controller puts a stack with `sync: auto` back to its branch tip. Commit to keep it.',
          );
        }
        exitCode = worstExit([syncExit(results), ...failures.map((f) => f.exit)]);
      },
    );

  program
    .command('history')
    .description('past runs, newest first (works offline)')
    .option('--stack <stack>', 'only this stack')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .option('--json', 'machine-readable output')
    .action(async (o: { stack?: string; limit: number; json?: boolean }) => {
      const e = await open();
      if (o.stack) await requireKnownStacks(e, [o.stack]);
      const runs = e.history.runs.list({ ...(o.stack ? { stack: o.stack } : {}), limit: o.limit });
      io.out(o.json ? toJson({ runs }) : formatHistory(runs, io.color));
    });

  program
    .command('log')
    .description('cached commits of the config repos, with the stacks each changed (works offline)')
    .option('--source <source>', 'only this source')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .option('--json', 'machine-readable output')
    .action(async (o: { source?: string; limit: number; json?: boolean }) => {
      const e = await open();
      const commits = await e.log({ ...(o.source ? { source: o.source } : {}), limit: o.limit });
      io.out(o.json ? toJson({ commits }) : formatLog(commits));
    });

  registerControllerCommands(program, open, io);
  registerPipelineCommands(program, open, io);
  registerServe(program, open, io);
  registerWebhookCommand(program, open, io, env);
  registerEngineCommand(program, open, io);
  registerCompletion(program, io);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A write that reached a read-only home, or a damaged page of the history, says so, where, and what
    // to do, rather than SQLite's or the OS's words (issue 10).
    let shown = err;
    if (engine) {
      // The engine was opened, so its side is loaded already.
      const { damagedHistoryError, isSqliteDamaged, isSqliteReadOnly, isWriteDenied, readOnlyHomeError } =
        await loadEngineSide();
      if (engine.readOnly && (isSqliteReadOnly(err) || isWriteDenied(err)))
        shown = readOnlyHomeError(engine.home);
      else if (isSqliteDamaged(err)) shown = damagedHistoryError(path.join(engine.home, 'mooring.db'), err);
    }
    io.err(`mooring: ${errorMessage(shown)}`);
    exitCode = exitFor(shown);
  } finally {
    engine?.close();
  }
  return exitCode;
}
