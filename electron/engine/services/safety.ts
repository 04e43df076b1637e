// The safety policy as settings.json says it, globally and per source, kept current when another
// process (the CLI's `source trust`) changes the file (EngineContext.refreshSettings).
import type { SourceTrustView } from '../../shared/api.ts';
import type { SafetySettings, TrustGrant } from '../../shared/model.ts';
import { updateSettingsFile } from '../settings.ts';
import { changeTrust, effectiveSafety, listTrust } from '../trust.ts';
import type { EngineContext } from './context.ts';
import type { SourceService } from './sources.ts';

/** The safety policy a source's stacks are checked against, and trust per source (issue 11, item 6). */
export class SafetyService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly sources: SourceService,
  ) {}

  /** What a source's stacks are checked against: the global safety settings and its own trust. */
  safetyFor(source: { name: string; url: string }): SafetySettings {
    this.ctx.refreshSettings();
    return effectiveSafety(this.ctx.settings, source);
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
    this.ctx.takeOver(written);
    return this.trustList();
  }

  /** Every source's allowances, and whether each still applies (its source exists with that URL). */
  trustList(): SourceTrustView[] {
    this.ctx.refreshSettings();
    return listTrust(this.ctx.settings, this.ctx.history.sources.list());
  }
}
