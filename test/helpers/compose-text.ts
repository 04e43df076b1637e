// A compose file given as text, read by the real manifest loader as stack `web` (web/compose.yaml) of
// a repo that holds nothing else but `files` (by repo path, such as web/.env); its errors thrown with
// line and column.
import { DEFAULT_SAFETY, type DesiredStack, type SafetySettings } from '../../electron/shared/model.ts';
import { loadStack } from '../../electron/engine/manifest/index.ts';

export async function loadComposeText(
  compose: string,
  safety: SafetySettings = DEFAULT_SAFETY,
  files: Record<string, string> = {},
): Promise<DesiredStack> {
  const r = await loadStack({
    reader: {
      readFile: (p) => Promise.resolve(p === 'web/compose.yaml' ? compose : (files[p] ?? null)),
      stat: () => Promise.resolve(null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
  });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.stack;
}
