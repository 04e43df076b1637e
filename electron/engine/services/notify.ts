// The home's webhook (issue 13, item 9): set, cleared, tested, and its last deliveries. The controller
// sends the notices (notify/webhook.ts); this is what Settings and `mooring webhook` change and show.
import type { WebhookDelivery, WebhookSettings } from '../../shared/model.ts';
import { WebhookNotifier } from '../notify/webhook.ts';
import { updateSettingsFile } from '../settings.ts';
import type { EngineContext } from './context.ts';

export class NotifyService {
  constructor(private readonly ctx: EngineContext) {}

  webhook(): WebhookSettings | undefined {
    // Another process may have set the webhook.
    this.ctx.refreshSettings();
    return this.ctx.settings.webhook;
  }

  /** Whether the webhook's variable has a value in this process. */
  urlSet(): boolean {
    const w = this.webhook();
    return Boolean(w && this.ctx.env[w.urlEnv]);
  }

  /** Sets the webhook, or (null) turns it off; settings.json keeps the variable's name, never the URL. */
  async setWebhook(w: WebhookSettings | null): Promise<WebhookSettings | undefined> {
    this.ctx.assertWritable('change the webhook');
    const written = await updateSettingsFile(this.ctx.home, (settings) => {
      if (w) settings.webhook = w;
      else delete settings.webhook;
    });
    this.ctx.takeOver(written);
    return written.webhook;
  }

  deliveries(limit = 10): WebhookDelivery[] {
    return this.ctx.history.deliveries.list(limit);
  }

  /** A notifier over this home's webhook: the controller's, or one for a test notice. */
  notifier(env: NodeJS.ProcessEnv = this.ctx.env): WebhookNotifier {
    return new WebhookNotifier({
      settings: () => this.webhook(),
      deliveries: this.ctx.history.deliveries,
      told: this.ctx.records.told,
      engine: this.ctx.engineName,
      env,
    });
  }

  testWebhook(): Promise<WebhookDelivery> {
    return this.notifier().test();
  }
}
