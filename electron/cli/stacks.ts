// A stack named on the command line must be one Mooring knows: declared by a source now, run by this
// home before (its history), or suspended here. Anything else is a typo, and a command that says "all
// is fine" about a stack that does not exist misleads (issue 13, CLI): it is a usage error (exit 2).
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
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
