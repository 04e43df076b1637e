// Trust per source (issue 11, item 6). The safety policy's allowances live in the local settings only,
// globally (`safety`) and per source (`sources.NAME.safety`); a source's stacks are checked against the
// two together. Granting and revoking go through here, for the CLI (`mooring source trust`) and the app
// (the stack's one-step Allow, the Settings list) alike.
//
// The shape mirrors the global one on purpose: every safety key works per source with nothing new to
// learn, a list adds to the global list and a yes adds to the global no. A source's entry records the
// URL it was granted for: a source removed and added again under its name from another repo does not
// inherit it (it is listed as not applying, until granted again or removed).
import type { SourceTrustView } from '../shared/api.ts';
import type { SafetySettings, TrustGrant, TrustSetting } from '../shared/model.ts';
import { TRUST_SETTINGS, grantsOf, isListSetting } from '../shared/trust.ts';
import { MooringError } from './errors.ts';
import { normalizeHostPath } from './manifest/safety.ts';
import type { Settings, SourceTrust } from './settings.ts';

/** The settings a source's stacks are checked against: the global ones plus the source's own. */
export function effectiveSafety(settings: Settings, source: { name: string; url: string }): SafetySettings {
  const trust = settings.sources?.[source.name];
  if (trust === undefined || !applies(trust, source.url)) return settings.safety;
  const out: SafetySettings = { ...settings.safety };
  for (const setting of TRUST_SETTINGS) {
    const own = trust.safety[setting];
    if (own === undefined) continue;
    if (Array.isArray(own)) {
      const global = settings.safety[setting] as string[];
      (out as unknown as Record<TrustSetting, string[]>)[setting] = [...new Set([...global, ...own])];
    } else if (own) {
      (out as unknown as Record<TrustSetting, boolean>)[setting] = true;
    }
  }
  return out;
}

function applies(trust: SourceTrust, url: string): boolean {
  return trust.url === undefined || trust.url === url;
}

/** A grant as it is stored: a host folder normalized, a capability in capitals without CAP_. */
export function normalizeGrant(grant: TrustGrant): TrustGrant {
  const list = isListSetting(grant.setting);
  if (list && (grant.value === undefined || grant.value.trim() === '')) {
    throw new MooringError('usage', `${grant.setting} needs a value (a host folder, a capability, …).`);
  }
  if (!list && grant.value !== undefined) {
    throw new MooringError('usage', `${grant.setting} is a yes/no setting and takes no value.`);
  }
  if (grant.setting === 'bindRoots') {
    const p = grant.value!;
    if (!p.startsWith('/')) {
      throw new MooringError('usage', `A host folder must be an absolute path (got "${p}").`);
    }
    return { setting: 'bindRoots', value: normalizeHostPath(p) };
  }
  if (grant.setting === 'allowCapAdd') {
    return { setting: 'allowCapAdd', value: grant.value!.toUpperCase().replace(/^CAP_/, '') };
  }
  return grant;
}

/**
 * Adds (or with `revoke`, removes) grants to a source's entry of `settings`, in place. Granting pins
 * the entry to the source's URL; an entry left with nothing is removed.
 */
export function changeTrust(
  settings: Settings,
  source: { name: string; url: string | null },
  grants: TrustGrant[],
  revoke: boolean,
): void {
  // Everything is checked before anything changes: a bad grant leaves the settings as they were.
  const checked = grants.map(normalizeGrant);
  if (!revoke && source.url === null) {
    throw new MooringError('not-found', `No source named "${source.name}" to trust; add it first.`);
  }
  const sources = (settings.sources ??= {});
  const entry: SourceTrust = sources[source.name] ?? { safety: {} };
  if (!revoke && source.url !== null) {
    // Granting again for a source that now has another URL starts over: the old grants were for another repo.
    if (entry.url !== undefined && entry.url !== source.url) entry.safety = {};
    entry.url = source.url;
  }
  const safety = entry.safety as Record<TrustSetting, string[] | boolean | undefined>;
  for (const grant of checked) {
    const current = safety[grant.setting];
    if (grant.value !== undefined) {
      const list = Array.isArray(current) ? current : [];
      const next = revoke ? list.filter((v) => v !== grant.value) : [...new Set([...list, grant.value])];
      safety[grant.setting] = next.length > 0 ? next : undefined;
    } else {
      safety[grant.setting] = revoke ? undefined : true;
    }
  }
  entry.safety = Object.fromEntries(Object.entries(safety).filter(([, v]) => v !== undefined));
  const others = Object.entries(sources).filter(([name]) => name !== source.name);
  const kept = Object.keys(entry.safety).length > 0 ? [...others, [source.name, entry] as const] : others;
  settings.sources = kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** Every source's allowances, for `mooring source trust --list` and the Settings screen. */
export function listTrust(settings: Settings, sources: { name: string; url: string }[]): SourceTrustView[] {
  const byName = new Map(sources.map((s) => [s.name, s]));
  const names = [...new Set([...sources.map((s) => s.name), ...Object.keys(settings.sources ?? {})])].sort();
  return names.flatMap((name) => {
    const trust = settings.sources?.[name];
    const source = byName.get(name);
    if (trust === undefined) return [];
    const grants = grantsOf(trust.safety);
    return [
      {
        source: name,
        url: trust.url ?? null,
        known: source !== undefined,
        applies: source !== undefined && applies(trust, source.url),
        grants,
      },
    ];
  });
}
