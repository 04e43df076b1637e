// `mooring source trust`: trust per source (issue 11, item 6). Grants (or with --revoke takes back)
// allowances of the safety policy for one source's stacks, in the local settings.json, never in the
// repo; --list shows every source's allowances. One option per safety setting (shared/trust.ts).
import type { Command } from 'commander';
import type { SourceTrustView } from '../shared/api.ts';
import type { TrustGrant, TrustSetting } from '../shared/model.ts';
import {
  TRUST_OPTIONS,
  TRUST_SETTINGS,
  describeGrant,
  isListSetting,
  trustCommand,
} from '../shared/trust.ts';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import { toJson } from './format.ts';
import type { Io } from './io.ts';

/** commander's camel-cased option name of a flag: `--host-namespaces` → hostNamespaces. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerTrustCommand(source: Command, open: () => Promise<Engine>, io: Io): void {
  const cmd = source
    .command('trust [name]')
    .description(
      "allow what the safety policy refuses, for one source's stacks only (settings.json sources.NAME.safety); --list shows every allowance",
    )
    .option('--list', "list every source's allowances")
    .option('--revoke', 'take the given allowances back')
    .option('--json', 'machine-readable output (with --list, or after a change)');
  for (const setting of TRUST_SETTINGS) {
    const { flag, noun } = TRUST_OPTIONS[setting] as { flag: string; noun: string; value?: string };
    if (isListSetting(setting)) {
      const value = (TRUST_OPTIONS[setting] as { value: string }).value;
      cmd.option(`${flag} <${value.toLowerCase()}>`, `allow a ${noun} (repeatable)`, collect);
    } else {
      cmd.option(flag, `allow ${noun}`);
    }
  }
  cmd.action(async (name: string | undefined, o: Record<string, unknown>) => {
    const grants: TrustGrant[] = TRUST_SETTINGS.flatMap((setting: TrustSetting): TrustGrant[] => {
      const v = o[optionKey(TRUST_OPTIONS[setting].flag)];
      if (Array.isArray(v)) return (v as string[]).map((value) => ({ setting, value }));
      return v === true ? [{ setting }] : [];
    });
    const e = await open();
    if (o.list === true || (grants.length === 0 && name !== undefined && o.revoke !== true)) {
      const all = e.trustList().filter((t) => name === undefined || t.source === name);
      io.out(o.json === true ? toJson({ trust: all }) : formatTrust(all, name));
      return;
    }
    if (name === undefined) {
      throw new MooringError(
        'usage',
        'Name the source: `mooring source trust NAME --bind PATH` (or --list).',
      );
    }
    if (grants.length === 0) {
      throw new MooringError(
        'usage',
        `Say what to ${o.revoke === true ? 'revoke' : 'allow'}: ${TRUST_SETTINGS.map((s) => TRUST_OPTIONS[s].flag).join(', ')}.`,
      );
    }
    const revoke = o.revoke === true;
    const all = await e.trust(name, grants, { revoke });
    const mine = all.filter((t) => t.source === name);
    if (o.json === true) {
      io.out(toJson({ trust: mine }));
      return;
    }
    for (const g of grants) {
      io.out(`${revoke ? 'Revoked' : 'Allowed'} for source ${name}: ${describeGrant(g)}.`);
    }
    io.out(
      revoke
        ? `Its stacks are checked without ${grants.length === 1 ? 'it' : 'them'} from the next status or sync.`
        : `Its stacks are checked with ${grants.length === 1 ? 'it' : 'them'} from the next status or sync; other sources are not.`,
    );
  });
}

export function formatTrust(all: SourceTrustView[], name?: string): string {
  if (all.length === 0) {
    return name === undefined
      ? 'No source is trusted with anything beyond settings.json safety. Grant with `mooring source trust NAME --bind PATH`.'
      : `Source ${name} is trusted with nothing beyond settings.json safety.`;
  }
  const lines: string[] = [];
  for (const t of all) {
    const note = !t.known
      ? ' (no such source now: not applied)'
      : !t.applies
        ? ` (granted for ${t.url ?? '?'}, which is no longer its URL: not applied; grant again)`
        : '';
    lines.push(`${t.source}${note}`);
    for (const g of t.grants) {
      lines.push(`  ${describeGrant(g)}  (revoke: ${trustCommand(g, t.source, true)})`);
    }
  }
  return lines.join('\n');
}
