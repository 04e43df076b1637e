// Compose's key=value lists and maps (environment, labels, build args, …), read with positions, and
// labels with the prefixes that are Mooring's and compose's own refused.
import type { Node } from 'yaml';
import type { Entry, YamlFile } from './yaml-file.ts';

/** Label prefixes Mooring (and compose) write themselves: a compose file may not set them. */
export const RESERVED_LABEL_PREFIXES = ['com.docker.compose.', 'dev.mooring.'];

/**
 * A list (`A=1`, `A`) or a map (`A: 1`, `A:`) of strings. A value-less entry returns null: its
 * meaning differs between `environment` (take it from .env) and `labels` (empty).
 */
export function readKeyValues(yaml: YamlFile, e: Entry): { key: string; value: string | null; node: Node }[] {
  const out: { key: string; value: string | null; node: Node }[] = [];
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const text = yaml.string(item.node, item.path);
      if (text === undefined) continue;
      const eq = text.indexOf('=');
      out.push({
        key: eq < 0 ? text : text.slice(0, eq),
        value: eq < 0 ? null : text.slice(eq + 1),
        node: item.node!,
      });
    }
  } else if (yaml.isMap(e.value)) {
    for (const kv of yaml.map(e.value, e.path) ?? []) {
      const v = yaml.scalar(kv.value);
      if (v === null) out.push({ key: kv.key, value: null, node: kv.keyNode });
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        out.push({ key: kv.key, value: String(v), node: kv.keyNode });
      } else yaml.errorAt(kv.value, `${kv.path} must be a string, a number or a boolean`);
    }
  } else if (!yaml.isNull(e.value)) {
    yaml.errorAt(e.value, `${e.path} must be a list or a map`);
  }
  return out.filter(({ key, node }) => {
    if (key.trim() !== '' && !/\s/.test(key)) return true;
    yaml.errorAt(node, `${e.path}: "${key}" is not a valid name`);
    return false;
  });
}

/** `labels:` of a service, a network or a volume. */
export function readLabels(yaml: YamlFile, e: Entry): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const { key, value, node } of readKeyValues(yaml, e)) {
    if (RESERVED_LABEL_PREFIXES.some((p) => key.startsWith(p))) {
      yaml.errorAt(
        node,
        `${e.path}: label ${key} is reserved; Mooring sets the com.docker.compose.* and dev.mooring.* labels itself`,
      );
      continue;
    }
    labels[key] = value ?? '';
  }
  return labels;
}
