// A stack named on the command line must be one Mooring knows: declared by a source now, run by this
// home before (its history), or suspended here. Anything else is a typo, and a command that says "all
// is fine" about a stack that does not exist misleads (issue 13, CLI): it is a usage error (exit 2).
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import { LOCAL_ENGINE } from '../shared/model.ts';
import { formatElsewhere } from './format.ts';

/** The stacks Mooring knows, by name. A source that cannot be read only makes the list shorter. */
export async function knownStacks(engine: Engine): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for (const s of await engine.loadStacks()) names.add(s.name);
  } catch {
    // An unreadable source is reported by the command itself; the others still count.
  }
  for (const name of engine.listSuspended().keys()) names.add(name);
  return names;
}

/** Throws a usage error naming the first unknown stack of `wanted` and the stacks there are. */
export async function requireKnownStacks(engine: Engine, wanted: readonly string[]): Promise<void> {
  if (wanted.length === 0) return;
  const known = await knownStacks(engine);
  const ran = engine.history.runs.lastPerStack(
    wanted.filter((n) => !known.has(n)),
    engine.engineName,
  );
  const unknown = wanted.filter((n) => !known.has(n) && !ran.has(n));
  if (unknown.length === 0) return;
  await refuseElsewhere(engine, unknown);
  const list = [...known].sort();
  throw new MooringError(
    'not-found',
    `No stack ${unknown.map((n) => `"${n}"`).join(', ')}: no source declares it and this home never ran it. ${
      list.length > 0
        ? `Stacks: ${list.join(', ')}.`
        : 'No source declares any stack yet: `mooring source add`.'
    }`,
  );
}

/**
 * Throws a usage error when a stack of `wanted` goes to other engines than the one in use (and not to
 * it), saying where: asked to act on it here, it is no typo but the wrong engine.
 */
export async function refuseElsewhere(engine: Engine, wanted: readonly string[]): Promise<void> {
  if (wanted.length === 0) return;
  const found: Parameters<Engine['elsewhere']>[0] = [];
  await engine.loadEachSource({ elsewhere: found }).catch(() => undefined);
  const elsewhere = engine.elsewhere(found).find((x) => wanted.includes(x.stack));
  if (elsewhere) throw new MooringError('not-found', formatElsewhere(elsewhere, engine.engineName));
}

/** An engine `--all-engines` acts on, with the stacks named there ([]: every stack that goes there). */
export interface EngineTarget {
  name: string;
  stacks: string[];
}

/**
 * Where `sync --all-engines` acts: each engine the stacks of `wanted` (none: every stack) go to at
 * `revision`, the engine in use first, then by name; with `prune` and no stack named, also each other
 * engine this machine maps, where a stack moved away is removed. `unconfigured`: the engines they go to
 * that this machine does not map, with those stacks (said, not acted on). A stack named that goes to
 * no engine here is refused, and so is a prune over two names of one daemon.
 */
export async function targetsOnEveryEngine(
  engine: Engine,
  wanted: readonly string[],
  opts: { revision: string | null; prune: boolean },
): Promise<{ targets: EngineTarget[]; unconfigured: EngineTarget[] }> {
  const found: Parameters<Engine['elsewhere']>[0] = [];
  const here = await engine.loadStacks({ revision: opts.revision, elsewhere: found });
  const goesTo = new Map<string, Set<string>>();
  const add = (name: string, stack: string): void => {
    if (wanted.length === 0 || wanted.includes(stack))
      goesTo.set(name, (goesTo.get(name) ?? new Set()).add(stack));
  };
  for (const s of here) for (const name of s.policy.engines ?? [LOCAL_ENGINE]) add(name, s.name);
  for (const x of found) for (const name of x.engines) add(name, x.stack);
  const named = new Set([...goesTo.values()].flatMap((s) => [...s]));
  const unknown = wanted.filter((n) => !named.has(n));
  if (unknown.length > 0) {
    const all = [...new Set([...here.map((s) => s.name), ...found.map((x) => x.stack)])].sort();
    throw new MooringError(
      'not-found',
      `No stack ${unknown.map((n) => `"${n}"`).join(', ')} in any source${opts.revision ? ` at ${opts.revision}` : ''}. ${
        all.length > 0
          ? `Stacks: ${all.join(', ')}.`
          : 'No source declares any stack yet: `mooring source add`.'
      }`,
    );
  }
  const configured = new Set([engine.engineName, ...engine.engines.list().map((e) => e.name)]);
  if (opts.prune && wanted.length === 0)
    for (const name of configured) if (!goesTo.has(name)) goesTo.set(name, new Set());
  const inUseFirst = (a: string, b: string): number =>
    Number(b === engine.engineName) - Number(a === engine.engineName) || a.localeCompare(b);
  const names = [...goesTo.keys()].sort(inUseFirst);
  const on = (name: string): EngineTarget => ({
    name,
    stacks: wanted.length === 0 ? [] : [...goesTo.get(name)!].sort(),
  });
  const targets = names.filter((n) => configured.has(n)).map(on);
  const unconfigured = names
    .filter((n) => !configured.has(n))
    .map((name) => ({ name, stacks: [...goesTo.get(name)!].sort() }));
  // A stack named that goes only to engines this machine does not map is synced nowhere: refused before
  // anything changes, saying where it goes and how to add one (as read at `revision`).
  const nowhere = wanted.filter((n) => !targets.some((t) => t.stacks.includes(n)));
  if (nowhere.length > 0) {
    const where = (stack: string): string[] =>
      unconfigured.filter((u) => u.stacks.includes(stack)).map((u) => u.name);
    throw new MooringError(
      'not-found',
      nowhere
        .map(
          (n) =>
            `${n}: goes to ${where(n)
              .map((e) => `${e} (not configured here)`)
              .join(', ')}: add the engine with \`mooring engine add ${where(n)[0]!} ENDPOINT\``,
        )
        .join('\n'),
    );
  }
  if (opts.prune) await refuseSameDaemon(engine, targets);
  return { targets: targets.length > 0 ? targets : [{ name: engine.engineName, stacks: [] }], unconfigured };
}

/**
 * Two of these engines that reach one Docker daemon (`local` through a DOCKER_HOST that another name
 * also reaches, say) are refused for a prune: on each, the other's stacks would look moved away, and
 * both would be removed. `engine add` refuses such a pair; `local` and hand-written settings may not.
 */
async function refuseSameDaemon(engine: Engine, targets: EngineTarget[]): Promise<void> {
  if (targets.length < 2) return;
  const configs = new Map(engine.engines.list().map((e) => [e.name, e.config]));
  const probes = await Promise.all(
    targets.flatMap((t) => {
      const config = configs.get(t.name);
      return config ? [engine.engines.probe(t.name, config)] : [];
    }),
  );
  for (const [i, a] of probes.entries()) {
    const b = probes.slice(i + 1).find((p) => a.id && p.id === a.id);
    if (b)
      throw new MooringError(
        'conflict',
        `Engines ${a.name} (${a.endpoint}) and ${b.name} (${b.endpoint}) reach the same Docker daemon (ID ${a.id}): a prune on one would remove the other's stacks. Nothing was changed. Remove one of them (\`mooring engine remove ${b.name}\`), or sync without --prune.`,
      );
  }
}
