// The safety policy as settings.json says it, globally and per source, kept current when another
// process (the CLI's `source trust`) changes the file.
import { readFileSync, statSync } from 'node:fs';
import type { SourceTrustView } from '../../shared/api.ts';
import type { SafetySettings, TrustGrant } from '../../shared/model.ts';
import { parseSettings, settingsFile, updateSettingsFile } from '../settings.ts';
import { changeTrust, effectiveSafety, listTrust } from '../trust.ts';
import type { EngineContext } from './context.ts';
import type { SourceService } from './sources.ts';

/** The safety policy a source's stacks are checked against, and trust per source (issue 11, item 6). */
export class SafetyService {
  /** When settings.json was last read: another process (the CLI's `source trust`) may change it. */
  private settingsMtime: number | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly sources: SourceService,
  ) {}

  /** What a source's stacks are checked against: the global safety settings and its own trust. */
  safetyFor(source: { name: string; url: string }): SafetySettings {
    this.refreshSettings();
    return effectiveSafety(this.ctx.settings, source);
  }

  /**
   * settings.json again if it changed since it was read: `mooring source trust` or `mooring webhook set`
   * in a terminal takes effect in the running app at its next look. Only the safety parts and the
   * webhook are taken over; the engine endpoint and the controller's settings stay as they were when
   * the app started.
   */
  refreshSettings(): void {
    let mtime: number;
    try {
      mtime = statSync(settingsFile(this.ctx.home)).mtimeMs;
    } catch {
      return;
    }
    if (mtime === this.settingsMtime) return;
    this.settingsMtime = mtime;
    try {
      const fresh = parseSettings(
        readFileSync(settingsFile(this.ctx.home), 'utf8'),
        settingsFile(this.ctx.home),
      );
      this.ctx.settings.safety = fresh.safety;
      this.ctx.settings.sources = fresh.sources;
      this.ctx.settings.webhook = fresh.webhook;
    } catch {
      // A file being edited by hand may be invalid for a moment: what was read before stays.
    }
  }

  /**
   * Grants (or with `revoke`, takes back) allowances of the safety policy for one source, in
   * settings.json (read, changed and written again, so what another process wrote is kept). Never from
   * the repo: only a person, through the CLI or the app.
   */
  async trust(
    name: string,
    grants: TrustGrant[],
    opts: { revoke?: boolean } = {},
  ): Promise<SourceTrustView[]> {
    this.ctx.assertWritable('change what a source is trusted with');
    const source = this.ctx.history.sources.get(name);
    if (!source && !opts.revoke) this.sources.source(name); // throws, naming the known sources
    const written = await updateSettingsFile(this.ctx.home, (settings) => {
      changeTrust(settings, { name, url: source?.url ?? null }, grants, opts.revoke ?? false);
    });
    this.ctx.settings.safety = written.safety;
    this.ctx.settings.sources = written.sources;
    this.ctx.settings.webhook = written.webhook;
    this.settingsMtime = null;
    return this.trustList();
  }

  /** Every source's allowances, and whether each still applies (its source exists with that URL). */
  trustList(): SourceTrustView[] {
    this.refreshSettings();
    return listTrust(this.ctx.settings, this.ctx.history.sources.list());
  }
}
