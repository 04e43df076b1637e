// mooring.yaml: the per-stack sync policy of a config repo. Anything unknown is an error, so that a typo
// such as `selfheal: true` never silently leaves a stack on manual sync.
import { DEFAULT_SAFETY, ENGINE_NAME } from '../../shared/model.ts';
import type { ManifestError, StackPolicy } from '../../shared/model.ts';
import { capErrors, checkFileSize } from './limits.ts';
import { projectName } from './project-name.ts';
import { YamlFile } from './yaml-file.ts';
import type { Entry } from './yaml-file.ts';

export const DEFAULT_POLICY: StackPolicy = { sync: 'manual', selfHeal: false, prune: false };

export type PolicyResult =
  { ok: true; stacks: Record<string, StackPolicy> } | { ok: false; errors: ManifestError[] };

/**
 * `maxBytes` is the local settings' safety.maxManifestBytes; the repo's own file must not decide how
 * much of itself is read.
 */
export function parsePolicyFile(
  text: string,
  file: string,
  maxBytes: number = DEFAULT_SAFETY.maxManifestBytes,
): PolicyResult {
  const tooLarge = checkFileSize(text, file, maxBytes);
  if (tooLarge !== null) return { ok: false, errors: [tooLarge] };
  const yaml = YamlFile.parse(text, file);
  if (yaml.errors.length > 0) return { ok: false, errors: capErrors(yaml.errors) };
  const stacks: Record<string, StackPolicy> = {};

  if (!yaml.isNull(yaml.root)) {
    const top = yaml.map(yaml.root, 'mooring.yaml') ?? [];
    for (const e of top) {
      if (e.key !== 'stacks') {
        yaml.errorAt(e.keyNode, `${e.key}: unknown key; mooring.yaml holds only \`stacks\``);
        continue;
      }
      if (yaml.isNull(e.value)) continue;
      for (const stack of yaml.map(e.value, 'stacks') ?? []) {
        if (projectName(stack.key) !== stack.key) {
          yaml.errorAt(
            stack.keyNode,
            `${stack.path}: "${stack.key}" is not a stack name; stack names are lowercase letters, digits, - and _ (here "${projectName(stack.key)}")`,
          );
          continue;
        }
        stacks[stack.key] = readPolicy(yaml, stack.value, stack.path);
      }
    }
  }
  return yaml.errors.length > 0 ? { ok: false, errors: capErrors(yaml.errors) } : { ok: true, stacks };
}

function readPolicy(yaml: YamlFile, node: YamlFile['root'], path: string): StackPolicy {
  const policy = { ...DEFAULT_POLICY };
  if (yaml.isNull(node)) return policy;
  for (const e of yaml.map(node, path) ?? []) {
    switch (e.key) {
      case 'sync': {
        const v = yaml.scalar(e.value);
        if (v === 'auto' || v === 'manual') policy.sync = v;
        else yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be \`auto\` or \`manual\``);
        break;
      }
      case 'selfHeal':
      case 'prune': {
        const v = yaml.bool(e.value, e.path);
        if (v !== undefined) policy[e.key] = v;
        break;
      }
      case 'mode': {
        const v = yaml.scalar(e.value);
        if (v === 'containers' || v === 'swarm') policy.mode = v;
        else yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be \`containers\` or \`swarm\``);
        break;
      }
      case 'profiles': {
        const profiles = readProfiles(yaml, e);
        if (profiles !== undefined) policy.profiles = profiles;
        break;
      }
      case 'engines': {
        const engines = readNames(yaml, e, ENGINE_NAME, 'an engine name (letters, digits, _ . -)');
        if (engines?.length === 0) yaml.errorAt(e.value, `${e.path}: name at least one engine`);
        else if (engines !== undefined) policy.engines = engines;
        break;
      }
      default:
        yaml.errorAt(
          e.keyNode,
          `${e.path}: unknown key; a stack's policy has sync, selfHeal, prune, profiles, mode and engines`,
        );
    }
  }
  return policy;
}

/** Compose's profile names (its schema's pattern), and `*` for every profile. */
export const PROFILE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** `profiles: [debug, tools]` (or one name): the compose profiles active for the stack. */
function readProfiles(yaml: YamlFile, e: Entry): string[] | undefined {
  return readNames(
    yaml,
    e,
    { test: (n: string) => n === '*' || PROFILE_NAME.test(n) },
    'a profile name (letters, digits, _ . -, starting with a letter or digit; * for all)',
  );
}

/** A list of names (or one name), each passing `valid`, without repeats. */
function readNames(
  yaml: YamlFile,
  e: Entry,
  valid: { test: (name: string) => boolean },
  what: string,
): string[] | undefined {
  let names: string[] | undefined;
  if (yaml.isSeq(e.value)) names = yaml.stringList(e.value, e.path);
  else {
    const one = yaml.string(e.value, e.path);
    names = one === undefined ? undefined : [one];
  }
  if (names === undefined) return undefined;
  const bad = names.find((n) => !valid.test(n));
  if (bad !== undefined) {
    yaml.errorAt(e.value, `${e.path}: "${bad}" is not ${what}`);
    return undefined;
  }
  return [...new Set(names)];
}
