// Desired state, read from git objects at a revision (never a work tree): each stack's compose files
// through the manifest loader, its policy from mooring.yaml, and the checks across stacks (two folders
// may not resolve to one stack name).
import path from 'node:path';
import {
  LOCAL_ENGINE,
  WORKTREE,
  type ManifestError,
  type SourceState,
  type StackPolicy,
} from '../../shared/model.ts';
import { contentKeyOf } from '../content-key.ts';
import { ago, placed, type LoadedStack } from '../engine-common.ts';
import { MooringError, errorMessage } from '../errors.ts';
import { DEFAULT_POLICY, loadStack, parsePolicyFile } from '../manifest/index.ts';
import type { Verification } from '../source/signatures.ts';
import type { EngineContext } from './context.ts';
import type { SafetyService } from './safety.ts';
import type { SourceService } from './sources.ts';

/** The error that keeps an unsigned (or wrongly signed) commit from being deployed, naming who signed it. */
function unverifiedError(file: string, commit: string, v: Verification): ManifestError {
  return {
    file,
    line: 1,
    column: 1,
    message: `Unverified: commit ${commit.slice(0, 12)} is not signed by a key this source allows (${v.why}${v.signer ? `; signed by ${v.signer}` : ''}); nothing of it is deployed.`,
    unverified: { signer: v.signer },
  };
}

/** A stack that `mooring.yaml` sends to other engines than the one in use. */
export interface Elsewhere {
  source: string;
  stack: string;
  engines: string[];
}

/**
 * Desired state: every stack of every source read from git at a revision, with its policy; on a named
 * engine, only the stacks whose policy names it (`engines:`, default `local`).
 */
export class DesiredStateService {
  /** The key secrets and configs are hashed with (content-key.ts), read once. */
  private contentKey: Promise<Buffer> | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly sources: SourceService,
    private readonly safety: SafetyService,
  ) {}

  private sourceWarnings(s: SourceState): string[] {
    if (!s.lastError) return [];
    const since = s.failingSince ? ` since ${s.failingSince} (${ago(s.failingSince)})` : '';
    const stale = s.lastSuccessAt
      ? `showing the revision fetched ${ago(s.lastSuccessAt)}`
      : 'it was never fetched, so nothing is known of its stacks';
    return [`Source "${s.name}" is unreachable${since}: ${s.lastError} — ${stale}.`];
  }

  /**
   * Every stack of every source (or of the named ones) read from git at a revision; those sent to other
   * engines are put in `elsewhere`.
   */
  async loadStacks(
    opts: { stacks?: string[]; revision?: string | null; source?: string; elsewhere?: Elsewhere[] } = {},
  ): Promise<LoadedStack[]> {
    const sources = opts.source
      ? [this.sources.source(opts.source)]
      : opts.revision === WORKTREE
        ? this.sources.worktreeSources()
        : this.ctx.history.sources.list();
    const out: LoadedStack[] = [];
    for (const s of sources) out.push(...(await this.loadSource(s, opts)));
    this.rejectDuplicateNames(out);
    if (opts.stacks?.length) {
      const missing = opts.stacks.filter((n) => !out.some((s) => s.name === n));
      if (missing.length > 0 && opts.revision) {
        if (!(await this.resolvesAnywhere(opts.revision, sources))) {
          throw new MooringError(
            'not-found',
            `Unknown revision "${opts.revision}": no source has such a commit, branch or tag. Run \`mooring log\` to see the commits.`,
          );
        }
        throw new MooringError('not-found', `No stack ${missing.join(', ')} at revision ${opts.revision}.`);
      }
    }
    return out;
  }

  /** Whether some source's mirror knows `revision` (a commit id or prefix, a branch or a tag). */
  private async resolvesAnywhere(revision: string, sources: SourceState[]): Promise<boolean> {
    for (const s of sources) {
      const ok = await this.sources
        .gitSource(s)
        .resolve(revision)
        .then(
          () => true,
          () => false,
        );
      if (ok) return true;
    }
    return false;
  }

  /**
   * The stacks of every source at its branch tip, where a source that cannot be read there (its
   * folder gone at the new tip, say) does not stop the others: it is named in `unreadable` with why.
   */
  async loadEachSource(
    opts: { stacks?: string[]; elsewhere?: Elsewhere[] } = {},
  ): Promise<{ loaded: LoadedStack[]; unreadable: Map<string, string> }> {
    const loaded: LoadedStack[] = [];
    const unreadable = new Map<string, string>();
    for (const s of this.ctx.history.sources.list()) {
      try {
        loaded.push(...(await this.loadSource(s, opts)));
      } catch (err) {
        unreadable.set(s.name, errorMessage(err));
      }
    }
    this.rejectDuplicateNames(loaded);
    return { loaded, unreadable };
  }

  private async loadSource(
    s: SourceState,
    opts: { stacks?: string[]; revision?: string | null; elsewhere?: Elsewhere[] },
  ): Promise<LoadedStack[]> {
    const git = this.sources.gitSource(s);
    const warnings = this.sourceWarnings(s);
    let commit: string;
    try {
      commit = await git.resolve(opts.revision ?? null);
    } catch (err) {
      // The revision may belong to another source; only an error if no source has the stack.
      if (opts.revision && opts.stacks?.length) return [];
      if (opts.revision) throw err;
      warnings.push(
        `Source "${s.name}" has no revision to read yet (${errorMessage(err)}). Run \`mooring fetch ${s.name}\`.`,
      );
      return [];
    }
    // A source that asks for signatures deploys nothing of a commit not signed by a key it allows; the
    // work tree is never signed, and is only ever deployed on a person's explicit request.
    const verification =
      s.verify && opts.revision !== WORKTREE ? await git.verification(commit, s.verify) : null;
    const policyFile = [s.path, 'mooring.yaml'].filter(Boolean).join('/');
    const reader = git.reader(commit);
    const policyText = await reader.readFile(policyFile);
    let policies: Record<string, StackPolicy> = {};
    if (policyText !== null) {
      const parsed = parsePolicyFile(policyText, policyFile, this.ctx.settings.safety.maxManifestBytes);
      if (parsed.ok) policies = parsed.stacks;
      else {
        warnings.push(
          `${policyFile} is invalid, so every stack of "${s.name}" falls back to manual sync: ${parsed.errors
            .map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)
            .join('; ')}`,
        );
      }
    }
    const out: LoadedStack[] = [];
    for (const entry of await git.listStacks(commit)) {
      const loaded = await loadStack({
        reader,
        stackDir: entry.dir,
        composeFile: entry.composeFile,
        safety: this.safety.safetyFor(s),
        source: s.name,
        stateDir: path.join(this.ctx.home, 'state', s.name),
        contentKey: await (this.contentKey ??= contentKeyOf(this.ctx.home, this.ctx.readOnly)),
        // mooring.yaml's compose profiles for the stack, found by the name the compose files give it.
        profiles: (stack) => (policies[stack] ?? policies[entry.name])?.profiles,
      });
      const name = loaded.ok ? loaded.stack.name : loaded.name;
      if (opts.stacks?.length && !opts.stacks.includes(name)) continue;
      const policy = policies[name] ?? policies[entry.name] ?? DEFAULT_POLICY;
      // A stack that goes to other engines is not part of this engine's desired state.
      const engines = policy.engines ?? [LOCAL_ENGINE];
      if (!engines.includes(this.ctx.engineName)) {
        opts.elsewhere?.push({ source: s.name, stack: name, engines });
        continue;
      }
      const unverified =
        verification && !verification.verified
          ? [unverifiedError(entry.composeFile, commit, verification)]
          : [];
      out.push({
        source: s.name,
        name,
        dir: entry.dir,
        revision: commit,
        desired: loaded.ok && unverified.length === 0 ? loaded.stack : null,
        errors: [...unverified, ...(loaded.ok ? [] : loaded.errors)],
        ...(verification?.verified ? { signer: verification.signer } : {}),
        policy,
        // Keys kept without (full) effect on this engine are said beside the status, at their place.
        warnings:
          loaded.ok && loaded.stack.warnings ? [...warnings, ...loaded.stack.warnings.map(placed)] : warnings,
      });
    }
    return out;
  }

  /**
   * A compose project name is global to the engine: two stacks of one name would fight over it, and
   * the second would redeploy the first with its own content (a folder `aaa/` with `name: victim`, or
   * `My App/` beside `myapp/`). Every stack of a shared name is an error, naming all of them: which
   * one is meant is for a person to say (issue 10).
   */
  private rejectDuplicateNames(stacks: LoadedStack[]): void {
    const byName = new Map<string, LoadedStack[]>();
    for (const s of stacks) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    for (const [name, group] of byName) {
      if (group.length < 2) continue;
      const where = (s: LoadedStack): string => `${s.dir ?? s.name}/ of source "${s.source}"`;
      for (const s of group) {
        const others = group.filter((o) => o !== s).map(where);
        s.errors = [
          ...s.errors,
          {
            file: s.desired?.file ?? (s.dir ? `${s.dir}/` : s.name),
            line: 1,
            column: 1,
            message: `stack name "${name}" is also the name of ${others.join(' and ')}; nothing of either is applied until each has its own compose \`name:\` (or folder name)`,
          },
        ];
        s.desired = null;
      }
    }
  }

  /**
   * The policy a stack had at the last commit that declared it, or null when no cached commit of the
   * source did. Looks back through the commits that changed some stack, newest first: the first whose
   * parent declares the stack is the one that deleted it.
   */
  async lastPolicyOf(
    source: string,
    stack: string,
    limit = 50,
  ): Promise<{ policy: StackPolicy; revision: string } | null> {
    // Read from git itself, not the commit cache: just after a restart the cache may not yet hold the
    // commit that deleted the stack, and the first look would then see no policy where the second saw
    // one (issue 10, item 9).
    const commits = (await this.sources.gitSource(this.sources.source(source)).log({ limit: 500 })).filter(
      (c) => c.stacks.length > 0,
    );
    for (const c of commits.slice(0, limit)) {
      const parent = c.parents[0];
      if (!parent) continue;
      const at = await this.loadStacks({ source, revision: parent }).catch(() => []);
      const found = at.find((s) => s.name === stack);
      if (found) return { policy: found.policy, revision: parent };
    }
    return null;
  }
}
