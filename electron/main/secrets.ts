// Source tokens and the webhook URL on the desktop: encrypted with the OS keychain (Electron
// safeStorage) in the home folder, never written in clear, never shown again. At start each is
// decrypted into this process's environment under the name the engine reads it from (the source's
// tokenEnv, the webhook's urlEnv), so the engine stays free of Electron.
import { safeStorage } from 'electron';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SecretStore } from '../engine/api-service.ts';
// One naming rule for the app's variables and the ones the CLI suggests (issue 10).
import { tokenEnvName } from '../engine/source/url-credentials.ts';

/** A key of `secrets.json` for a variable by name (the webhook URL); any other key is a source's token. */
const VARIABLE = 'env:';
const envNameOf = (key: string): string =>
  key.startsWith(VARIABLE) ? key.slice(VARIABLE.length) : tokenEnvName(key);

export class SafeStorageSecrets implements SecretStore {
  private readonly file: string;
  private readonly sealed: Map<string, string>;

  constructor(home: string) {
    this.file = path.join(home, 'secrets.json');
    let stored: Record<string, string> = {};
    try {
      stored = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      // no tokens yet
    }
    this.sealed = new Map(Object.entries(stored));
    for (const [key, b64] of this.sealed) {
      try {
        process.env[envNameOf(key)] = safeStorage.decryptString(Buffer.from(b64, 'base64'));
      } catch {
        // A keychain change makes old tokens unreadable: the fetch then says the token is missing.
      }
    }
  }

  async save(source: string, token: string): Promise<string> {
    this.sealed.set(source, safeStorage.encryptString(token).toString('base64'));
    await this.write();
    const name = tokenEnvName(source);
    process.env[name] = token;
    return name;
  }

  async saveVariable(name: string, value: string): Promise<void> {
    this.sealed.set(`${VARIABLE}${name}`, safeStorage.encryptString(value).toString('base64'));
    await this.write();
    process.env[name] = value;
  }

  async remove(source: string): Promise<void> {
    this.sealed.delete(source);
    Reflect.deleteProperty(process.env, tokenEnvName(source));
    await this.write();
  }

  private async write(): Promise<void> {
    await writeFile(this.file, JSON.stringify(Object.fromEntries(this.sealed), null, 2), { mode: 0o600 });
  }
}
