// `mooring webhook`: the home's outgoing webhook (issue 13, item 9) — drift, failed runs and heals told
// to a receiver as JSON, an ntfy message or a Slack message, by the controller (`watch`, the app). The
// URL is a secret, so settings.json names the environment variable that holds it, as a source's token.
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';
import {
  ENV_NAME,
  WEBHOOK_FORMATS,
  type WebhookDelivery,
  type WebhookFormat,
  type WebhookSettings,
} from '../shared/model.ts';
import { localTime, toJson } from './format.ts';
import type { Io } from './io.ts';

const EVENTS = ['drift', 'failed', 'healed'] as const;

function parseEvents(list: string): WebhookSettings['events'] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(EVENTS as readonly string[]).includes(n));
  if (unknown.length || names.length === 0) {
    throw new MooringError(
      'usage',
      `--events takes a comma-separated list of ${EVENTS.join(', ')} (got "${list}").`,
    );
  }
  return {
    drift: names.includes('drift'),
    failed: names.includes('failed'),
    healed: names.includes('healed'),
  };
}

export function registerWebhookCommand(
  program: Command,
  open: () => Promise<Engine>,
  io: Io,
  env: NodeJS.ProcessEnv,
): void {
  const webhook = program
    .command('webhook')
    .description('tell a webhook (JSON, ntfy or Slack) when a stack drifts, a run fails or self-heal repairs')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const e = await open();
      const w = e.notify.webhook() ?? null;
      const deliveries = e.notify.deliveries(5);
      if (o.json) {
        io.out(toJson({ webhook: w, urlSet: w ? Boolean(env[w.urlEnv]) : false, deliveries }));
        return;
      }
      io.out(formatWebhook(w, w ? Boolean(env[w.urlEnv]) : false, deliveries));
    });

  webhook
    .command('set <format>')
    .description(`send notices in this format (${WEBHOOK_FORMATS.join(', ')}) to the URL in a variable`)
    .requiredOption(
      '--url-env <name>',
      'the environment variable that holds the URL (it is a secret: never stored)',
    )
    .option('--events <list>', `which events, comma-separated (${EVENTS.join(',')})`, EVENTS.join(','))
    .action(async (format: string, o: { urlEnv: string; events: string }) => {
      if (!(WEBHOOK_FORMATS as readonly string[]).includes(format)) {
        throw new MooringError('usage', `Format "${format}" is not one of ${WEBHOOK_FORMATS.join(', ')}.`);
      }
      if (!ENV_NAME.test(o.urlEnv)) {
        throw new MooringError(
          'usage',
          `--url-env takes a variable's name (letters, digits, _), not "${o.urlEnv}": put the URL in that variable.`,
        );
      }
      const events = parseEvents(o.events);
      const e = await open();
      await e.notify.setWebhook({ urlEnv: o.urlEnv, format: format as WebhookFormat, events });
      io.out(
        `Webhook set: ${format} notices for ${EVENTS.filter((k) => events[k]).join(', ')}, to the URL in $${o.urlEnv}.`,
      );
      if (!env[o.urlEnv]) {
        io.out(
          `$${o.urlEnv} is not set in this shell: set it where \`mooring watch\` runs, then \`mooring webhook test\`.`,
        );
      } else {
        io.out('Send a test notice with `mooring webhook test`.');
      }
    });

  webhook
    .command('off')
    .description('stop sending notices (the variable and its URL are left as they are)')
    .action(async () => {
      const e = await open();
      await e.notify.setWebhook(null);
      io.out('Webhook off: no notices are sent.');
    });

  webhook
    .command('test')
    .description('send a test notice now and say how the receiver answered')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const e = await open();
      const d = await e.notify.testWebhook();
      if (o.json) io.out(toJson({ delivery: d }));
      if (d.error) throw new MooringError('unreachable', `The test notice was not delivered: ${d.error}`);
      if (!o.json) io.out(`Test notice delivered (HTTP ${d.status}).`);
    });
}

export function formatWebhook(
  w: WebhookSettings | null,
  urlSet: boolean,
  deliveries: WebhookDelivery[],
): string {
  if (!w) return 'No webhook is set. Set one with `mooring webhook set json|ntfy|slack --url-env NAME`.';
  const events = EVENTS.filter((k) => w.events[k]);
  const lines = [
    `${w.format} notices for ${events.join(', ') || 'nothing'}, to the URL in $${w.urlEnv}${urlSet ? '' : ' (not set in this shell)'}`,
  ];
  if (deliveries.length) {
    lines.push('', 'Last deliveries:');
    for (const d of deliveries) {
      const what = d.stack ? `${d.event} ${d.stack}` : d.event;
      lines.push(`  ${localTime(d.at)}  ${what}  ${d.error ? `✗ ${d.error}` : `✓ ${d.status ?? ''}`}`);
    }
  }
  return lines.join('\n');
}
