// Settings → Webhook (issue 13, item 9): where drift, failed runs and heals are told beyond this
// machine (generic JSON, ntfy, Slack). The URL is a secret: the desktop keeps it in the OS keychain;
// browser mode cannot, so it names the variable of `mooring serve` that holds it.
import { useState } from 'react';
import type { UiSettings } from '../../../electron/shared/api.ts';
import type { WebhookFormat, WebhookSettings } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { ago } from '../format.ts';
import { useStore } from '../store.tsx';

const FORMATS: [WebhookFormat, string][] = [
  ['json', 'JSON (any receiver)'],
  ['ntfy', 'ntfy topic'],
  ['slack', 'Slack incoming webhook'],
];
const FORMAT_NAMES: Record<WebhookFormat, string> = { json: 'JSON', ntfy: 'ntfy', slack: 'Slack' };
const EVENTS: [keyof WebhookSettings['events'], string][] = [
  ['drift', 'a stack drifts from git'],
  ['failed', 'a run fails'],
  ['healed', 'self-heal repairs a stack'],
];

export function WebhookSettingsSection({
  settings,
  onSaved,
}: {
  settings: UiSettings;
  onSaved: (s: UiSettings) => void;
}): React.JSX.Element {
  const { notify } = useStore();
  const w = settings.webhook;
  const [format, setFormat] = useState<WebhookFormat>(w?.format ?? 'json');
  const [events, setEvents] = useState(w?.events ?? { drift: true, failed: true, healed: true });
  const [url, setUrl] = useState('');
  const [urlEnv, setUrlEnv] = useState(w?.urlEnv ?? 'MOORING_WEBHOOK_URL');
  const [busy, setBusy] = useState<'save' | 'test' | 'off' | null>(null);
  const keychain = settings.canStoreTokens;

  const run = async (what: 'save' | 'test' | 'off'): Promise<void> => {
    setBusy(what);
    try {
      if (what === 'test') {
        const d = await call('settings:webhook-test', {});
        if (d.error) notify('error', `The test notice was not delivered: ${d.error}`);
        else notify('info', `Test notice delivered (HTTP ${d.status ?? '?'}).`);
        onSaved(await call('settings:get', {}));
      } else if (what === 'off') {
        onSaved(await call('settings:webhook', { off: true }));
        notify('info', 'Webhook off: no notices are sent.');
      } else {
        const target = keychain ? (url.trim() ? { url: url.trim() } : {}) : { urlEnv: urlEnv.trim() };
        onSaved(await call('settings:webhook', { format, events, ...target }));
        setUrl('');
        notify('info', 'Webhook saved.');
      }
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="webhook-h">
      <h2 id="webhook-h">Webhook</h2>
      <p className="sub">
        Tell a chat or a phone when a stack drifts, a run fails or self-heal repairs something. The same drift
        or failure is told once, until the stack is in sync again.
      </p>
      <form
        className="panel pad webhook-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run('save');
        }}
      >
        <label className="field">
          <span>Format</span>
          <select
            value={format}
            onChange={(e) => {
              setFormat(e.target.value as WebhookFormat);
            }}
          >
            {FORMATS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {keychain ? (
          <label className="field">
            <span>URL {w ? '(kept in the keychain; type a new one to replace it)' : ''}</span>
            <input
              type="password"
              autoComplete="off"
              value={url}
              required={!w}
              placeholder="https://ntfy.sh/my-topic"
              onChange={(e) => {
                setUrl(e.target.value);
              }}
            />
          </label>
        ) : (
          <div className="field-group">
            <label className="field">
              <span>Variable that holds the URL</span>
              <input
                value={urlEnv}
                required
                spellCheck={false}
                aria-describedby="webhook-env-help"
                onChange={(e) => {
                  setUrlEnv(e.target.value);
                }}
              />
            </label>
            <p id="webhook-env-help" className="sub">
              Browser mode cannot keep the URL safely: give <code>mooring serve</code> the URL in a variable,
              e.g. <code>MOORING_WEBHOOK_URL=https://… mooring serve</code>, and name it here.
            </p>
          </div>
        )}
        <fieldset className="webhook-events">
          <legend>Send when</legend>
          {EVENTS.map(([key, label]) => (
            <label key={key} className="check">
              <input
                type="checkbox"
                checked={events[key]}
                onChange={(e) => {
                  setEvents({ ...events, [key]: e.target.checked });
                }}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <div className="webhook-buttons">
          <button type="submit" className="primary" disabled={busy !== null}>
            {busy === 'save' ? <span className="spinner" /> : 'Save'}
          </button>
          <button type="button" disabled={busy !== null || !w} onClick={() => void run('test')}>
            {busy === 'test' ? <span className="spinner" /> : 'Send a test notice'}
          </button>
          <button type="button" disabled={busy !== null || !w} onClick={() => void run('off')}>
            Turn off
          </button>
        </div>
        <p className="sub" role="status">
          {!w
            ? 'No webhook yet.'
            : w.urlSet
              ? `On: ${FORMAT_NAMES[w.format]} notices to the URL in ${keychain ? 'the keychain' : `$${w.urlEnv}`}.`
              : `Set, but $${w.urlEnv} has no value in the engine’s process: nothing can be sent.`}
        </p>
      </form>
      {settings.deliveries.length > 0 && (
        <>
          <h3 className="webhook-deliveries-h">Last deliveries</h3>
          <div className="panel">
            <table aria-label="Last webhook deliveries">
              <thead>
                <tr>
                  <th>When</th>
                  <th>What</th>
                  <th>Answer</th>
                </tr>
              </thead>
              <tbody>
                {settings.deliveries.map((d) => (
                  <tr key={d.id} className={d.error ? 'attention bad' : ''}>
                    <td title={d.at}>{ago(d.at)}</td>
                    <td>
                      {d.event}
                      {d.stack ? ` · ${d.stack}` : ''}
                    </td>
                    <td>
                      {d.error ? (
                        <>
                          <span className="badge bad">not delivered</span>
                          <div className="cell-sub">{d.error}</div>
                        </>
                      ) : (
                        <span className="badge ok">HTTP {d.status}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
