// Sources and settings: add, edit, fetch and remove config repos; the controller, its poll
// interval and per-stack suspend; the safety-policy allowances; the webhook; the Docker endpoint.
import { useEffect, useRef, useState } from 'react';
import type { ZodType } from 'zod';
import { schemas, type UiSettings } from '../../../electron/shared/api.ts';
import type { SafetySettings, SourceState } from '../../../electron/shared/model.ts';
import { describeGrant, trustCommand } from '../../../electron/shared/trust.ts';
import { call, getApi } from '../api/client.ts';
import { Dialog } from '../components/dialog.tsx';
import { ago, shortId } from '../format.ts';
import { useStore } from '../store.tsx';
import { EnginesSection } from './engines-settings.tsx';
import { WebhookSettingsSection } from './webhook-settings.tsx';

export function SettingsScreen(): React.JSX.Element {
  const { snapshot } = useStore();
  const [settings, setSettings] = useState<UiSettings | null>(null);
  useEffect(() => {
    void call('settings:get', {}).then(setSettings);
  }, []);
  return (
    <>
      <div className="page-head">
        <h1>Sources and settings</h1>
      </div>
      <Sources sources={snapshot?.sources ?? []} canStoreTokens={settings?.canStoreTokens ?? false} />
      {settings && <Controller settings={settings} onSaved={setSettings} />}
      {settings && <Safety settings={settings} onSaved={setSettings} />}
      {settings && <WebhookSettingsSection settings={settings} onSaved={setSettings} />}
      {settings && <Engine settings={settings} onSaved={setSettings} />}
      <EnginesSection />
      {getApi().transport === 'browser' && <BrowserNotifications />}
    </>
  );
}

function useSave(
  onSaved: (s: UiSettings) => void,
): (patch: Parameters<typeof call<'settings:update'>>[1]) => Promise<void> {
  const { notify } = useStore();
  return async (patch) => {
    try {
      onSaved(await call('settings:update', patch));
      notify('info', 'Settings saved.');
    } catch (err) {
      notify('error', (err as Error).message);
    }
  };
}

function Sources({
  sources,
  canStoreTokens,
}: {
  sources: SourceState[];
  canStoreTokens: boolean;
}): React.JSX.Element {
  const { notify } = useStore();
  const [adding, setAdding] = useState(sources.length === 0);
  const [editing, setEditing] = useState<SourceState | null>(null);
  const [removing, setRemoving] = useState<SourceState | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const fetchNow = async (name?: string): Promise<void> => {
    setBusy(name ?? '*');
    try {
      const after = await call('sources:fetch', name ? { name } : {});
      const failed = after.filter((s) => (!name || s.name === name) && s.lastError);
      if (failed.length === 0) notify('info', name ? `Fetched "${name}".` : 'Fetched every source.');
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="sources-h">
      <div className="page-head" style={{ marginBottom: 8 }}>
        <h2 id="sources-h" style={{ margin: 0 }}>
          Sources
        </h2>
        <span className="grow" />
        <button disabled={sources.length === 0 || busy !== null} onClick={() => void fetchNow()}>
          {busy === '*' ? <span className="spinner" /> : 'Fetch now'}
        </button>
        <button
          className="primary"
          onClick={() => {
            setAdding(true);
          }}
        >
          Add source
        </button>
      </div>
      {sources.length === 0 && !adding && <p className="sub">No config repo yet.</p>}
      {sources.length > 0 && (
        <div className="panel">
          <table aria-label="Sources">
            <thead>
              <tr>
                <th>Name</th>
                <th>Repo</th>
                <th>Branch · path</th>
                <th>Head</th>
                <th>Last fetch</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sources.map((s) => (
                <tr key={s.name} data-source={s.name} className={s.lastError ? 'attention bad' : ''}>
                  <td className="name">{s.name}</td>
                  <td className="mono">{s.url}</td>
                  <td>
                    {s.branch ?? 'default branch'} · {s.path || '/'}
                    {s.verify && (
                      <div className="cell-sub" data-verify={s.verify.format}>
                        deploys {s.verify.format === 'ssh' ? 'SSH' : 'OpenPGP'}-signed commits only
                      </div>
                    )}
                  </td>
                  <td className="mono">{shortId(s.head)}</td>
                  <td>
                    {s.lastError ? (
                      <>
                        <span className="badge bad">unreachable</span>
                        <div className="cell-sub">
                          since {ago(s.failingSince)} · {s.lastError}
                        </div>
                      </>
                    ) : (
                      ago(s.lastSuccessAt)
                    )}
                  </td>
                  <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                    <button
                      disabled={busy !== null}
                      onClick={() => void fetchNow(s.name)}
                      aria-label={`Fetch ${s.name}`}
                    >
                      {busy === s.name ? <span className="spinner" /> : 'Fetch'}
                    </button>{' '}
                    <button
                      onClick={() => {
                        setEditing(s);
                      }}
                      aria-label={`Edit ${s.name}`}
                    >
                      Edit
                    </button>{' '}
                    <button
                      className="danger"
                      onClick={() => {
                        setRemoving(s);
                      }}
                      aria-label={`Remove ${s.name}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding && (
        <SourceForm
          canStoreTokens={canStoreTokens}
          onClose={() => {
            setAdding(false);
          }}
        />
      )}
      {editing && (
        <SourceForm
          source={editing}
          canStoreTokens={canStoreTokens}
          onClose={() => {
            setEditing(null);
          }}
        />
      )}
      {removing && (
        <Dialog
          title={`Remove source “${removing.name}”?`}
          onClose={() => {
            setRemoving(null);
          }}
          actions={
            <>
              <button
                autoFocus
                onClick={() => {
                  setRemoving(null);
                }}
              >
                Cancel
              </button>
              <button
                className="primary"
                onClick={() => {
                  const name = removing.name;
                  setRemoving(null);
                  void call('sources:remove', { name }).then(
                    () => {
                      notify('info', `Removed "${name}".`);
                    },
                    (err: unknown) => {
                      notify('error', (err as Error).message);
                    },
                  );
                }}
              >
                Remove
              </button>
            </>
          }
        >
          <p>
            Mooring forgets this repo and its cached commits stop updating. Its containers keep running; they
            show as orphaned until you prune them.
          </p>
        </Dialog>
      )}
    </section>
  );
}

/**
 * The first thing the engine's own schema would refuse in a value, in its words, or null. The form
 * checks with the schema the server parses with (electron/shared/api.ts), not a copy of its regex in
 * an HTML pattern attribute: that one was invalid under the `v` flag browsers compile patterns with
 * (an unescaped `-` in a class), so the browser ignored it (issue 13, item 11).
 */
function problemOf(schema: ZodType, value: unknown): string | null {
  const r = schema.safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'not valid');
}

const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  url: 'Repository URL',
  branch: 'Branch',
  path: 'Sub-path',
  token: 'Access token',
};

function SourceForm(props: {
  source?: SourceState;
  canStoreTokens: boolean;
  onClose: () => void;
}): React.JSX.Element {
  const { notify } = useStore();
  const editing = props.source !== undefined;
  const [name, setName] = useState(props.source?.name ?? '');
  const [url, setUrl] = useState(props.source?.url ?? '');
  const [branch, setBranch] = useState(props.source?.branch ?? '');
  const [path, setPath] = useState(props.source?.path ?? '');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Said as soon as a typed name could not be added; an empty one is left to `required`.
  const nameRef = useRef<HTMLInputElement>(null);
  const nameProblem = editing || name === '' ? null : problemOf(schemas['sources:add'].shape.name, name);

  const submit = async (e: React.SyntheticEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const update = { name, branch: branch || null, path, ...(token ? { token } : {}) };
    const add = {
      name,
      url,
      ...(branch ? { branch } : {}),
      ...(path ? { path } : {}),
      ...(token ? { token } : {}),
    };
    const checked = editing
      ? schemas['sources:update'].safeParse(update)
      : schemas['sources:add'].safeParse(add);
    if (!checked.success) {
      // The name's problem is already said beside it: go there. Anything else is said above the form.
      const others = checked.error.issues.filter((i) => !(nameProblem && i.path[0] === 'name'));
      setError(
        others.length === 0
          ? null
          : others
              .map((i) => `${FIELD_LABELS[String(i.path[0])] ?? String(i.path[0] ?? '')}: ${i.message}`)
              .join('; '),
      );
      if (nameProblem) nameRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (editing) {
        await call('sources:update', update);
        notify('info', `Saved "${name}".`);
      } else {
        const s = await call('sources:add', add);
        notify(
          s.lastError ? 'warn' : 'info',
          s.lastError ? `Added "${name}", but: ${s.lastError}` : `Added "${name}".`,
        );
      }
      props.onClose();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={editing ? `Edit source “${name}”` : 'Add a source'}
      onClose={props.onClose}
      actions={
        <>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" form="source-form" disabled={busy}>
            {busy ? 'Fetching…' : editing ? 'Save' : 'Add and fetch'}
          </button>
        </>
      }
    >
      <form id="source-form" onSubmit={(e) => void submit(e)} style={{ display: 'grid', gap: 12 }}>
        {error && (
          <div className="callout bad" role="alert">
            {error}
          </div>
        )}
        <label className="field">
          <span>Name</span>
          <input
            required
            autoFocus={!editing}
            disabled={editing}
            ref={nameRef}
            value={name}
            placeholder="config"
            aria-label="Name"
            aria-invalid={nameProblem ? true : undefined}
            aria-describedby="source-name-problem"
            onChange={(e) => {
              setName(e.target.value);
            }}
          />
          lowercase letters, digits, - and _
          <span id="source-name-problem" className="field-error" role="alert">
            {nameProblem && `Not a valid name: ${nameProblem}.`}
          </span>
        </label>
        <label className="field">
          <span>Repository URL or local path</span>
          <input
            required
            disabled={editing}
            value={url}
            placeholder="https://git.example.com/team/config.git or /home/me/config"
            aria-label="Repository URL or local path"
            onChange={(e) => {
              setUrl(e.target.value);
            }}
          />
        </label>
        <div className="grid-2">
          <label className="field">
            <span>Branch</span>
            <input
              value={branch}
              placeholder="the remote's default"
              aria-label="Branch"
              onChange={(e) => {
                setBranch(e.target.value);
              }}
            />
          </label>
          <label className="field">
            <span>Sub-path</span>
            <input
              value={path}
              placeholder="/ (repo root)"
              aria-label="Sub-path"
              onChange={(e) => {
                setPath(e.target.value);
              }}
            />
          </label>
        </div>
        <label className="field">
          <span>Access token (HTTP)</span>
          <input
            type="password"
            autoComplete="off"
            aria-label="Access token"
            value={token}
            disabled={!props.canStoreTokens}
            placeholder={
              props.canStoreTokens ? (editing ? 'unchanged' : 'optional') : 'not available in browser mode'
            }
            onChange={(e) => {
              setToken(e.target.value);
            }}
          />
          {props.canStoreTokens
            ? 'Kept encrypted by the OS keychain, never shown again.'
            : 'Browser mode cannot keep secrets: use `mooring source add NAME URL --token-env VAR` instead.'}
        </label>
      </form>
    </Dialog>
  );
}

function Controller({
  settings,
  onSaved,
}: {
  settings: UiSettings;
  onSaved: (s: UiSettings) => void;
}): React.JSX.Element {
  const { snapshot, notify } = useStore();
  const save = useSave(onSaved);
  const [interval, setIntervalSec] = useState(String(settings.pollIntervalSec));
  return (
    <section aria-labelledby="controller-h">
      <h2 id="controller-h">Controller</h2>
      <div className="panel pad" style={{ display: 'grid', gap: 14 }}>
        <label className="check">
          <input
            type="checkbox"
            checked={settings.controllerEnabled}
            onChange={(e) => void save({ controllerEnabled: e.target.checked })}
          />
          Run the controller: auto-sync, self-heal and prune as each stack’s policy in{' '}
          <code>mooring.yaml</code> says
        </label>
        <form
          style={{ display: 'flex', gap: 8, alignItems: 'end' }}
          onSubmit={(e) => {
            e.preventDefault();
            void save({ pollIntervalSec: Number(interval) });
          }}
        >
          <label className="field">
            <span>Fetch every (seconds)</span>
            <input
              type="number"
              min={5}
              max={86400}
              value={interval}
              onChange={(e) => {
                setIntervalSec(e.target.value);
              }}
            />
          </label>
          <button type="submit">Save</button>
        </form>
        <div>
          <strong>Suspended stacks</strong>
          <p className="sub" style={{ margin: '2px 0 8px' }}>
            The controller leaves a suspended stack alone, so something stopped on purpose stays stopped.
          </p>
          <div className="badges">
            {(snapshot?.stacks ?? []).map((s) => {
              const suspended = s.suspended;
              return (
                <label key={s.name} className="check panel" style={{ padding: '4px 10px' }}>
                  <input
                    type="checkbox"
                    checked={suspended}
                    onChange={(e) => {
                      void call('stacks:suspend', { stack: s.name, suspended: e.target.checked }).catch(
                        (err: unknown) => {
                          notify('error', (err as Error).message);
                        },
                      );
                    }}
                  />
                  {s.name}
                </label>
              );
            })}
          </div>
        </div>
      </div>
    </section>
  );
}

const SAFETY_FLAGS: [keyof SafetySettings, string][] = [
  ['allowPrivileged', 'privileged containers'],
  ['allowHostNamespaces', 'the host’s namespaces (network, pid, ipc, uts, userns, cgroup: host)'],
  [
    'allowContainerNamespaces',
    'reaching a container outside the stack (container:NAME namespaces, volumes_from)',
  ],
  ['allowDevices', 'devices (devices, gpus, device_cgroup_rules, blkio_config devices)'],
  [
    'allowUnconfined',
    'any security_opt besides no-new-privileges (seccomp, apparmor, label…), runtime annotations',
  ],
  ['allowDockerSocket', 'the Docker socket (a mount of it, use_api_socket)'],
  ['allowCgroupParent', 'cgroup_parent (a cgroup of the host outside the engine’s)'],
];

function Safety({
  settings,
  onSaved,
}: {
  settings: UiSettings;
  onSaved: (s: UiSettings) => void;
}): React.JSX.Element {
  const save = useSave(onSaved);
  const [caps, setCaps] = useState(settings.safety.allowCapAdd.join(', '));
  const [roots, setRoots] = useState(settings.safety.bindRoots.join('\n'));
  const [opts, setOpts] = useState(settings.safety.allowSecurityOpt.join('\n'));
  const [runtimes, setRuntimes] = useState(settings.safety.allowRuntimes.join(', '));
  return (
    <section aria-labelledby="safety-h">
      <h2 id="safety-h">Safety policy</h2>
      <div className="panel pad" style={{ display: 'grid', gap: 12 }}>
        <p className="sub" style={{ margin: 0 }}>
          Whoever can push to a config repo can run containers on this machine. These are refused unless
          allowed here; the repo itself can never allow them.
        </p>
        {SAFETY_FLAGS.map(([key, label]) => (
          <label key={key} className="check">
            <input
              type="checkbox"
              checked={settings.safety[key] as boolean}
              onChange={(e) => void save({ safety: { [key]: e.target.checked } })}
            />
            Allow {label}
          </label>
        ))}
        <form
          className="grid-2"
          onSubmit={(e) => {
            e.preventDefault();
            void save({
              safety: {
                allowCapAdd: caps
                  .split(/[\s,]+/)
                  .filter(Boolean)
                  .map((c) => c.toUpperCase()),
                bindRoots: roots
                  .split('\n')
                  .map((r) => r.trim())
                  .filter(Boolean),
                allowSecurityOpt: opts
                  .split('\n')
                  .map((o) => o.trim())
                  .filter(Boolean),
                allowRuntimes: runtimes.split(/[\s,]+/).filter(Boolean),
              },
            });
          }}
        >
          <label className="field">
            <span>Capabilities cap_add may name</span>
            <input
              value={caps}
              placeholder="NET_ADMIN, SYS_TIME (ALL allows any)"
              onChange={(e) => {
                setCaps(e.target.value);
              }}
            />
          </label>
          <label className="field">
            <span>Host folders bind mounts may use (one per line)</span>
            <textarea
              rows={3}
              value={roots}
              placeholder="/srv/data"
              onChange={(e) => {
                setRoots(e.target.value);
              }}
            />
          </label>
          <label className="field">
            <span>security_opt entries allowed as written (one per line)</span>
            <textarea
              rows={2}
              value={opts}
              placeholder="apparmor=my-profile"
              onChange={(e) => {
                setOpts(e.target.value);
              }}
            />
          </label>
          <label className="field">
            <span>Runtimes runtime: may name</span>
            <input
              value={runtimes}
              placeholder="runc"
              onChange={(e) => {
                setRuntimes(e.target.value);
              }}
            />
          </label>
          <div>
            <button type="submit">Save allowances</button>
          </div>
        </form>
        <SourceTrust settings={settings} onSaved={onSaved} />
      </div>
    </section>
  );
}

/** The allowances granted per source (issue 11, item 6), each with its revoke and its command. */
function SourceTrust({
  settings,
  onSaved,
}: {
  settings: UiSettings;
  onSaved: (s: UiSettings) => void;
}): React.JSX.Element {
  const { notify } = useStore();
  const [busy, setBusy] = useState<string | null>(null);
  const views = settings.trust.filter((v) => v.grants.length > 0);
  return (
    <div role="group" aria-labelledby="trust-h">
      <h3 id="trust-h" style={{ margin: '8px 0 4px' }}>
        Allowed per source
      </h3>
      {views.length === 0 ? (
        <p className="sub" style={{ margin: 0 }}>
          None. A stack refused by the policy offers an Allow button for its source; so does{' '}
          <code>mooring source trust</code>.
        </p>
      ) : (
        views.map((v) => (
          <div key={v.source} data-trust-source={v.source}>
            <strong>{v.source}</strong>{' '}
            {!v.known ? (
              <span className="sub">· no source of this name now: not applied</span>
            ) : !v.applies ? (
              <span className="sub">· granted for {v.url}, which the source no longer uses: not applied</span>
            ) : null}
            <ul className="trust-grants">
              {v.grants.map((grant) => {
                const key = `${v.source} ${describeGrant(grant)}`;
                return (
                  <li key={key}>
                    <span>{describeGrant(grant)}</span>
                    <button
                      disabled={busy !== null}
                      aria-label={`Revoke ${describeGrant(grant)} for source ${v.source}`}
                      onClick={() => {
                        setBusy(key);
                        call('sources:trust', { name: v.source, grant, revoke: true })
                          .then((next) => {
                            onSaved(next);
                            notify('info', `Revoked ${describeGrant(grant)} for source ${v.source}.`);
                          })
                          .catch((err: unknown) => {
                            notify('error', (err as Error).message);
                          })
                          .finally(() => {
                            setBusy(null);
                          });
                      }}
                    >
                      {busy === key ? <span className="spinner" /> : 'Revoke'}
                    </button>
                    <code className="sub">{trustCommand(grant, v.source, true)}</code>
                  </li>
                );
              })}
            </ul>
          </div>
        ))
      )}
    </div>
  );
}

function Engine({
  settings,
  onSaved,
}: {
  settings: UiSettings;
  onSaved: (s: UiSettings) => void;
}): React.JSX.Element {
  const save = useSave(onSaved);
  const [host, setHost] = useState(settings.dockerHost ?? '');
  return (
    <section aria-labelledby="engine-h">
      <h2 id="engine-h">Docker engine</h2>
      <form
        className="panel pad"
        style={{ display: 'flex', gap: 8, alignItems: 'end' }}
        onSubmit={(e) => {
          e.preventDefault();
          void save({ dockerHost: host.trim() || null });
        }}
      >
        <label className="field" style={{ flex: 1 }}>
          <span>Endpoint</span>
          <input
            value={host}
            placeholder="DOCKER_HOST, else unix:///var/run/docker.sock"
            onChange={(e) => {
              setHost(e.target.value);
            }}
          />
        </label>
        <button type="submit">Save</button>
      </form>
      <p className="sub">
        Data folder: <code>{settings.home}</code>
      </p>
    </section>
  );
}

function BrowserNotifications(): React.JSX.Element | null {
  const [permission, setPermission] = useState(
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
  );
  if (permission === 'unsupported') return null;
  return (
    <section aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <div className="panel pad">
        {permission === 'granted' ? (
          'Desktop notifications are on: you will hear about drift and failed runs.'
        ) : (
          <button
            onClick={() => {
              void Notification.requestPermission().then(setPermission);
            }}
          >
            Allow desktop notifications for drift and failed runs
          </button>
        )}
      </div>
    </section>
  );
}
