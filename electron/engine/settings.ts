// Local settings in the home folder: what this machine allows and where its engine is.
// Never read from the config repo (DESIGN.md, "Safety policy").
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_SAFETY,
  ENV_NAME,
  WEBHOOK_FORMATS,
  type SafetySettings,
  type WebhookSettings,
} from '../shared/model.ts';
import type { EngineConfig } from './docker/endpoint.ts';
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
    allowRuntimes: z.array(z.string().min(1)),
    allowCgroupParent: z.boolean(),
    allowHostInterfaces: z.boolean(),
    allowNetworkDrivers: z.array(z.string().min(1)),
    allowVolumeDrivers: z.array(z.string().min(1)),
    allowVolumeTypes: z.array(z.string().min(1)),
    allowExternalSecrets: z.array(z.string().min(1)),
    bindRoots: z.array(z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path')),
    allowSharedPropagation: z.boolean(),
    // Parsing is linear, but a file past a few tens of MB is a mistake or an attack, not a manifest.
    maxManifestBytes: z.number().int().min(1_000).max(100_000_000),
  })
  .strict();

/**
 * Trust per source (issue 11, item 6): allowances for one source's stacks, added to the global `safety`
 * ones. Keyed by the source's name, and pinned to its URL: a source removed and added again under the
 * same name from another repo does not inherit what the first was trusted with.
 */
const SourceTrustSchema = z
  .object({
    url: z.string().min(1).optional(),
    safety: SafetySchema.omit({ maxManifestBytes: true }).partial().default({}),
  })
  .strict();

const WebhookSchema = z
  .object({
    urlEnv: z.string().regex(ENV_NAME, 'must be an environment variable name (letters, digits, _)'),
    format: z.enum(WEBHOOK_FORMATS),
    events: z
      .object({
        drift: z.boolean().default(true),
        failed: z.boolean().default(true),
        healed: z.boolean().default(true),
      })
      .strict()
      .default({ drift: true, failed: true, healed: true }),
  })
  .strict();

/** A named engine (issue 15): where it is and how to reach it; docker/endpoint.ts checks it. */
const EngineSchema = z
  .object({
    endpoint: z.string().min(1),
    tls: z
      .object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    sshKey: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
  })
  .strict();

/** How often the controller fetches each source when `pollIntervalSec` is not set. */
export const DEFAULT_POLL_INTERVAL_SEC = 60;

export const SettingsSchema = z
  .object({
    safety: SafetySchema.partial().default({}),
    sources: z.record(z.string(), SourceTrustSchema).optional(),
    /** Like DOCKER_HOST; unset means DOCKER_HOST, else the local socket. */
    dockerHost: z.string().optional(),
    /** Named engines; `local` is there unless set to null (it is the endpoint above). */
    engines: z.record(z.string(), EngineSchema.nullable()).optional(),
    /** How often the controller fetches each source. */
    pollIntervalSec: z.number().int().min(5).max(86_400).optional(),
    /** Whether the desktop app runs the controller (auto-sync, self-heal, prune). */
    controllerEnabled: z.boolean().optional(),
    /**
     * A commit that deletes at least this share of a source's stacks is not pruned without a person's
     * confirmation (issue 10). Default 1: only a commit that deletes all of them.
     */
    pruneConfirmShare: z.number().gt(0).max(1).optional(),
    /** Where drift, failed runs and heals are told (issue 13, item 9). */
    webhook: WebhookSchema.optional(),
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

export interface SourceTrust {
  /** The source's URL when the trust was granted; it applies only while the source has that URL. */
  url?: string | undefined;
  safety: Partial<Omit<SafetySettings, 'maxManifestBytes'>>;
}

export interface Settings {
  safety: SafetySettings;
  /** Trust per source, by source name (see SourceTrustSchema). */
  sources?: Record<string, SourceTrust> | undefined;
  dockerHost?: string | undefined;
  engines?: Record<string, EngineConfig | null> | undefined;
  pollIntervalSec?: number | undefined;
  controllerEnabled?: boolean | undefined;
  pruneConfirmShare?: number | undefined;
  git?: { author?: { name: string; email: string } | undefined } | undefined;
  webhook?: WebhookSettings | undefined;
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
  return parseSettings(text, file);
}

/** The file's content, checked; throws a MooringError saying what to fix. */
export function parseSettings(text: string, file: string): Settings {
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
  // Written whole, then renamed over the old file: the app and the CLI read it while the other writes.
  const file = settingsFile(home);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Reads the file as it is now, changes it, and writes it back: what another process (the app, the CLI)
 * wrote since this one started is kept. Returns what was written.
 */
export async function updateSettingsFile(
  home: string,
  change: (settings: Settings) => void,
): Promise<Settings> {
  const settings = await loadSettings(home);
  change(settings);
  await saveSettings(home, settings);
  return settings;
}
