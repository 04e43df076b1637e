// `mooring build`, `promote` and `rollback`: the pipeline stages (issue 5). Thin, like the rest of the
// CLI: parse, call the engine, print for people or --json for machines. Failures throw MooringError,
// which main() maps to the exit codes (1 for a failed build, a conflict or a failed run).
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import type { BuildEvent } from '../engine/pipeline/build.ts';
import type { PromoteResult } from '../engine/pipeline/promote.ts';
import type { RollbackResult } from '../engine/pipeline/pipeline.ts';
import type { ProgressEvent } from '../engine/reconcile/apply.ts';
import { positiveInt, toJson } from './format.ts';
import type { Io } from './io.ts';

const short = (id: string | null | undefined): string => (id ? id.slice(0, 7) : '-');

function parseTarget(value: string): { stack: string; service: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(value);
  if (!m) throw new MooringError('usage', `--promote takes STACK/SERVICE (like web/app), not "${value}".`);
  return { stack: m[1]!, service: m[2]! };
}

export function describePromote(r: PromoteResult, url?: string): string {
  const where = `${r.file}:${r.line} (${r.stack}/${r.service})`;
  if (r.oldImage === r.newImage) return `${where} already runs ${r.newImage}: nothing to commit.`;
  if (r.dryRun) {
    return [
      `Would change ${where}: ${r.oldImage} → ${r.newImage}`,
      `Nothing was written: add --push to commit this and push it${url ? ` to ${url}` : ''}.`,
    ].join('\n');
  }
  if (r.commit === null) return `${where} already has ${r.newImage} upstream: nothing to commit.`;
  const retried = r.attempts > 1 ? ` (after ${r.attempts - 1} concurrent commit(s) upstream)` : '';
  return r.pushed
    ? `Pushed ${short(r.commit)} to ${r.branch}${retried}: ${where} ${r.oldImage} → ${r.newImage}`
    : `Committed ${short(r.commit)} on branch ${r.branch}${retried}: ${where} ${r.oldImage} → ${r.newImage} (the work tree and index of the repo were not touched)`;
}

function progress(io: Io): (e: ProgressEvent) => void {
  return (e) => {
    if (e.type === 'action-finished') {
      io.err(
        `  ${e.error ? '✗' : '✓'} ${e.action.kind} ${e.action.target} (${e.ms} ms)${e.error ? `: ${e.error}` : ''}`,
      );
    }
  };
}

export function registerPipelineCommands(program: Command, open: () => Promise<Engine>, io: Io): void {
  program
    .command('build <app-repo>')
    .description(
      'build an image from an app repo (local path or http(s) URL) at a revision, tagged NAME:<commit>',
    )
    .option('--rev <rev>', 'commit, branch or tag (default: HEAD, or the default branch of a URL)')
    .option('--dockerfile <path>', 'repo-relative Dockerfile (default: Dockerfile in the context folder)')
    .option('--context <dir>', 'repo-relative folder sent as the build context (default: the repo root)')
    .option(
      '--tag <name>',
      'image name, tagged <name>:<short commit> (default: the repo name); NAME:TAG is used as is',
    )
    .option('--token-env <var>', 'environment variable holding an HTTP token for the app repo (never stored)')
    .option('--promote <stack/service>', "then write the image into that service's image: and push it")
    .option('--source <source>', 'the source of the stack to promote into (default: the one that has it)')
    .option('--message <template>', 'commit message template for --promote (see `mooring promote --help`)')
    .option('--json', 'machine-readable result on stdout (build output goes to stderr)')
    .action(
      async (
        appRepo: string,
        o: {
          rev?: string;
          dockerfile?: string;
          context?: string;
          tag?: string;
          tokenEnv?: string;
          promote?: string;
          source?: string;
          message?: string;
          json?: boolean;
        },
      ) => {
        const target = o.promote ? parseTarget(o.promote) : null;
        const e = await open();
        const print = o.json ? io.err : io.out;
        const onEvent = (ev: BuildEvent): void => {
          if (ev.type === 'build-output') print(ev.line);
        };
        const result = await e.build(
          {
            appRepo,
            rev: o.rev ?? null,
            dockerfile: o.dockerfile ?? null,
            context: o.context ?? null,
            tag: o.tag ?? null,
            tokenEnv: o.tokenEnv ?? null,
            promote: target ? { ...target, source: o.source ?? null, message: o.message ?? null } : null,
          },
          onEvent,
        );
        if (o.json) io.out(toJson(result));
        const { build } = result;
        if (build.result !== 'succeeded') {
          throw new MooringError('failed', `build ${build.buildId} failed: ${build.error ?? 'see its log'}`);
        }
        if (!o.json) {
          io.out(
            `Built ${build.tag ?? '?'} (${build.imageId ?? '?'}) from ${build.appRepo} at ${short(build.commit)} (build ${build.buildId}).`,
          );
          if (result.promote) io.out(describePromote(result.promote));
        }
      },
    );

  program
    .command('promote <stack> <service> <image>')
    .description("write an image into a service's image: in the config repo as a one-line commit")
    .option('--source <source>', 'the source of the stack (default: the one that has it)')
    .option(
      '--message <template>',
      'commit message; placeholders {stack} {service} {old} {new} {file} {appCommit} {appCommitShort} {appRepo}',
    )
    .option(
      '--push',
      'commit and push (an http source is left alone without it; a local repo is always committed to)',
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        stack: string,
        service: string,
        image: string,
        o: { source?: string; message?: string; push?: boolean; json?: boolean },
      ) => {
        const e = await open();
        const result = await e.promote({
          stack,
          service,
          image,
          source: o.source ?? null,
          message: o.message ?? null,
          push: o.push ?? false,
        });
        const url = e.listSources().find((s) => s.name === result.source)?.url;
        io.out(o.json ? toJson({ promote: result }) : describePromote(result, url));
      },
    );

  program
    .command('rollback <stack> <rev>')
    .description(
      'deploy a past revision of a stack and suspend its auto-sync (`mooring resume` lifts it); --revert commits it instead',
    )
    .option(
      '--revert',
      "commit the stack's folder as it was at REV on the branch tip (pushed), and let sync deploy it",
    )
    .option(
      '--by-tag',
      "deploy what the revision's image tags point to now (default: the images that ran then, by id or digest)",
    )
    .option(
      '--run <id>',
      'deploy the images that run ID ran (a run of REV in `mooring history`; default: its last good deploy)',
      positiveInt,
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        stack: string,
        rev: string,
        o: { revert?: boolean; byTag?: boolean; run?: number; json?: boolean },
      ) => {
        const e = await open();
        const result = await e.rollback(stack, rev, {
          revert: o.revert ?? false,
          byTag: o.byTag ?? false,
          ...(o.run ? { run: o.run } : {}),
          ...(o.json ? {} : { onProgress: progress(io) }),
        });
        if (o.json) io.out(toJson({ rollback: result }));
        else io.out(describeRollback(result));
        if (result.mode === 'deploy' && result.sync.result !== 'succeeded') {
          throw new MooringError(
            'failed',
            `rollback of ${stack} ${result.sync.result}: ${result.sync.error ?? ''}`,
          );
        }
      },
    );
}

function describeRollback(r: RollbackResult): string {
  if (r.mode === 'deploy') {
    const s = r.sync;
    const what =
      s.result === 'succeeded'
        ? `Rolled back ${r.stack} to ${short(r.revision)} (run ${s.runId ?? '-'}, ${s.plan?.actions.length ?? 0} action(s)).`
        : `Rolling back ${r.stack} to ${short(r.revision)}: ${s.result}${s.error ? ` — ${s.error}` : ''}`;
    const pinned = r.pinned.map(
      (p) =>
        `  ${p.service}: ${p.image.includes('@') ? p.image : shortImage(p.id)} as it ran then (${p.moved}${p.pull ? '; pulled by digest' : ''})`,
    );
    return [
      what,
      ...(pinned.length ? ['Deployed from the images that ran at that revision:', ...pinned] : []),
      `Auto-sync of ${r.stack} is suspended so the controller does not undo it; \`mooring resume ${r.stack}\` returns it to the branch tip.`,
    ].join('\n');
  }
  const v = r.revert;
  if (v.commit === null) return `${v.dir}/ is already as at ${short(r.revision)}: nothing to revert.`;
  const lines = [
    `${v.pushed ? 'Pushed' : 'Committed'} revert ${short(v.commit)} on ${v.branch}: ${v.dir}/ as at ${short(r.revision)}${v.undone.length ? `, undoing ${v.undone.length} commit(s)` : ''}.`,
    'The normal sync deploys it (the controller, for a stack on sync: auto; else `mooring sync`).',
  ];
  if (r.suspended)
    lines.push(
      `Note: ${r.stack} is suspended here; \`mooring resume ${r.stack}\` lets the controller deploy it.`,
    );
  return lines.join('\n');
}

/** An image id as `docker images` shows it: 12 hex digits. */
function shortImage(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
