// Size limits on what the config repo hands the loaders (issue 10, item 11). Whoever can push to the
// repo chooses these files, so their size is checked before any parsing, and the limit comes from the
// local settings only (safety.maxManifestBytes), never from the repo.
import type { ManifestError } from '../../shared/model.ts';

/** Error-list cap: past it, one summary line stands for the rest (a hostile file can make millions). */
export const MAX_REPORTED_ERRORS = 200;

/** The file's size in UTF-8 bytes when it exceeds `maxBytes`, else null. */
function bytesOver(text: string, maxBytes: number): number | null {
  // A string never has more UTF-16 units than UTF-8 bytes, so this skips the byte count for most files.
  if (text.length <= maxBytes / 3) return null;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > maxBytes ? bytes : null;
}

/** An error at the top of `file` when it is larger than `maxBytes`, else null. */
export function checkFileSize(text: string, file: string, maxBytes: number): ManifestError | null {
  const bytes = bytesOver(text, maxBytes);
  if (bytes === null) return null;
  return {
    file,
    line: 1,
    column: 1,
    message: `${file} is ${formatBytes(bytes)}, over the limit of ${formatBytes(maxBytes)} for a file read from the config repo; make it smaller, or raise safety.maxManifestBytes in settings.json`,
  };
}

export function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}

/** The first MAX_REPORTED_ERRORS errors, and a line that says how many more there were. */
export function capErrors(errors: ManifestError[]): ManifestError[] {
  if (errors.length <= MAX_REPORTED_ERRORS) return errors;
  const first = errors[MAX_REPORTED_ERRORS]!;
  const more = errors.length - MAX_REPORTED_ERRORS;
  return [
    ...errors.slice(0, MAX_REPORTED_ERRORS),
    { ...first, message: `… and ${more.toLocaleString('en-US')} more problems from here on` },
  ];
}
