// The home folder's key for hashing secrets and configs (manifest/secrets.ts contentDigest): random,
// made once, owner-only like the rest of the home (home.ts PRIVATE_FILES). Whoever reads a drift value,
// a plan or a mount path sees a hash of a secret that cannot be checked against guesses without it.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MooringError } from './errors.ts';

export async function contentKeyOf(home: string, readOnly: boolean): Promise<Buffer> {
  const file = path.join(home, 'content-key');
  if (!readOnly) {
    // `wx`: two first starts at once keep the one key that was written first.
    await writeFile(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 }).catch(
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      },
    );
  }
  const hex = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    (err: unknown) => {
      if (readOnly) return null;
      throw err;
    },
  );
  if (hex !== null && /^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  if (hex !== null && !readOnly) {
    throw new MooringError(
      'usage',
      `${file} is damaged (not 64 hex digits). Delete it: a new key is made, and the services with secrets or configs written inline are recreated once.`,
    );
  }
  // A read-only home without a key: hashes of this process's own, which match no container (a secret
  // then shows as changed, and nothing can be changed from a read-only home anyway).
  return randomBytes(32);
}
