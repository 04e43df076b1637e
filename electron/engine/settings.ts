// Local settings in the home folder: what this machine allows and where its engine is.
// Never read from the config repo (DESIGN.md, "Safety policy").
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_SAFETY, type SafetySettings } from '../shared/model.ts';
import { MooringError } from './errors.ts';

const SafetySchema = z
  .object({
    allowPrivileged: z.boolean(),
    allowHostNamespaces: z.boolean(),
    allowContainerNamespaces: z.boolean(),
    allowCapAdd: z.array(z.string()),
    allowDevices: z.boolean(),
    allowUnconfined: z.boolean(),
    allowSecurityOpt: z.array(z.string().min(1)),
    allowDockerSocket: z.boolean(),
    bindRoots: z.array(z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path')),
    // Parsing is linear, but a file past a few tens of MB is a mistake or an attack, not a manifest.
    maxManifestBytes: z.number().int().min(1_000).max(100_000_000),
  })
  .strict();

export const SettingsSchema = z
  .object({
    safety: SafetySchema.partial().default({}),
    /** Like DOCKER_HOST; unset means DOCKER_HOST, else the local socket. */
    dockerHost: z.string().optional(),
    /** How often the controller fetches each source. */
    pollIntervalSec: z.number().int().min(5).max(86_400).optional(),
    /** Whether the desktop app runs the controller (auto-sync, self-heal, prune). */
    controllerEnabled: z.boolean().optional(),
    /**
     * A commit that deletes at least this share of a source's stacks is not pruned without a person's
     * confirmation (issue 10). Default 1: only a commit that deletes all of them.
     */
    pruneConfirmShare: z.number().gt(0).max(1).optional(),
    /** Mooring's own commits (promote, revert, deploy notes): who they are by. */
    git: z
      .object({
        author: z
          .object({ name: z.string().trim().min(1), email: z.string().trim() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export interface Settings {
  safety: SafetySettings;
  dockerHost?: string | undefined;
  pollIntervalSec?: number | undefined;
  controllerEnabled?: boolean | undefined;
  pruneConfirmShare?: number | undefined;
  git?: { author?: { name: string; email: string } | undefined } | undefined;
}

export function settingsFile(home: string): string {
  return path.join(home, 'settings.json');
}

export async function loadSettings(home: string): Promise<Settings> {
  const file = settingsFile(home);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { safety: { ...DEFAULT_SAFETY } };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MooringError(
      'usage',
      `${file} is not valid JSON (${(err as Error).message}). Fix or delete it.`,
    );
  }
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MooringError('usage', `${file} is invalid: ${issues}`);
  }
  return { ...parsed.data, safety: { ...DEFAULT_SAFETY, ...parsed.data.safety } };
}

export async function saveSettings(home: string, settings: Settings): Promise<void> {
  // Owner-only like everything Mooring keeps in its home (issue 10); Engine.open tightens older files.
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(settingsFile(home), JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
}
