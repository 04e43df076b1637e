// Which folder of a config repo holds a stack at a commit. A stack's name is its compose `name:` or its
// folder's name (DESIGN.md, Vocabulary), so a folder whose name matches wins, and otherwise the compose
// files are read for their `name:`.
import { parseDocument } from 'yaml';
import { MooringError } from '../errors.ts';
import { projectName } from '../manifest/index.ts';
import type { GitSource, StackLocation } from '../source/index.ts';

export async function findStack(
  source: GitSource,
  commit: string,
  stack: string,
): Promise<StackLocation | null> {
  const stacks = await source.listStacks(commit);
  const reader = source.reader(commit);
  let byFolder: StackLocation | null = null;
  for (const s of stacks) {
    const text = await reader.readFile(s.composeFile);
    const declared = text === null ? null : composeName(text);
    if (declared !== null) {
      if (declared === stack) return s;
      continue;
    }
    if (byFolder === null && projectName(s.name) === stack) byFolder = s;
  }
  return byFolder;
}

export async function requireStack(source: GitSource, commit: string, stack: string): Promise<StackLocation> {
  const found = await findStack(source, commit, stack);
  if (found) return found;
  throw new MooringError(
    'not-found',
    `Source "${source.config.name}" has no stack "${stack}" at commit ${commit.slice(0, 12)}. Run \`mooring status\` to see the stacks.`,
  );
}

/** The compose file's top-level `name:`, when it is a plain string. */
function composeName(text: string): string | null {
  try {
    const doc = parseDocument(text);
    const name: unknown = doc.get('name');
    return typeof name === 'string' && !name.includes('$') ? name : null;
  } catch {
    return null;
  }
}
