// Settings → Engines (issue 15): the Docker engines this machine knows by name, as `mooring engine
// list` shows them (reachable, version, swarm role, latency, or why not), added and removed here as
// with `mooring engine add|remove`. Certificates and keys stay in their files: the form takes paths.
import { useCallback, useEffect, useState } from 'react';
import type { EngineProbe } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { useStore } from '../store.tsx';

export const VIA: Record<EngineProbe['transport'], string> = {
  socket: 'socket',
  tcp: 'tcp',
  tls: 'TLS',
  ssh: 'SSH',
};

export function EnginesSection(): React.JSX.Element {
  const { notify } = useStore();
  const [engines, setEngines] = useState<EngineProbe[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);

  const check = useCallback(async () => {
    setChecking(true);
    try {
      setEngines(await call('engines:list', {}));
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setChecking(false);
    }
  }, [notify]);
  useEffect(() => {
    void check();
  }, [check]);

  const remove = async (name: string): Promise<void> => {
    try {
      await call('engines:remove', { name });
      notify('info', `Engine ${name} removed from this machine's list; nothing on it was changed.`);
      setRemoving(null);
      await check();
    } catch (err) {
      notify('error', (err as Error).message);
    }
  };

  return (
    <section aria-labelledby="engines-h">
      <h2 id="engines-h">Engines</h2>
      <p className="sub">
        The Docker engines this machine reaches, by name: <code>local</code> is the endpoint above; others
        over TLS or SSH. <code>mooring --engine NAME …</code> acts on one.
      </p>
      <div className="panel">
        <table aria-label="Engines">
          <thead>
            <tr>
              <th>Name</th>
              <th>Endpoint</th>
              <th>State</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {engines === null ? (
              <tr>
                <td colSpan={4}>Asking each engine…</td>
              </tr>
            ) : engines.length === 0 ? (
              <tr>
                <td colSpan={4}>No engines: add one below.</td>
              </tr>
            ) : (
              engines.map((e) => (
                <tr key={e.name} data-engine={e.name} className={e.reachable ? '' : 'attention bad'}>
                  <td>{e.name}</td>
                  <td>
                    <code>{e.endpoint}</code>
                    <div className="cell-sub">via {VIA[e.transport]}</div>
                  </td>
                  <td>
                    {e.reachable ? (
                      <>
                        <span className="badge ok">Docker {e.version}</span>
                        <div className="cell-sub">
                          answered in {e.latencyMs} ms
                          {e.swarm && e.swarm !== 'none' ? ` · swarm ${e.swarm}` : ''}
                        </div>
                      </>
                    ) : (
                      <>
                        <span className="badge bad">unreachable</span>
                        <div className="cell-sub">{e.error}</div>
                        {!e.apiVersion && (
                          <div className="cell-sub">
                            Start Docker there, or remove it and add it again with the right endpoint.
                          </div>
                        )}
                      </>
                    )}
                  </td>
                  <td>
                    {removing === e.name ? (
                      <button type="button" className="danger" onClick={() => void remove(e.name)}>
                        Remove {e.name}
                      </button>
                    ) : (
                      <button
                        type="button"
                        aria-label={`Remove engine ${e.name}`}
                        onClick={() => {
                          setRemoving(e.name);
                        }}
                      >
                        Remove…
                      </button>
                    )}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <p>
        <button type="button" disabled={checking} aria-busy={checking} onClick={() => void check()}>
          {checking && <span className="spinner" />} Check again
        </button>
      </p>
      <AddEngine onAdded={() => void check()} />
    </section>
  );
}

function AddEngine({ onAdded }: { onAdded: () => void }): React.JSX.Element {
  const { notify } = useStore();
  const [f, setF] = useState({
    name: '',
    endpoint: '',
    ca: '',
    cert: '',
    key: '',
    sshKey: '',
    knownHosts: '',
  });
  const [busy, setBusy] = useState(false);
  const tcp = f.endpoint.startsWith('tcp://');
  const ssh = f.endpoint.startsWith('ssh://');
  const field = (
    key: keyof typeof f,
    label: string,
    placeholder: string,
    required = false,
  ): React.JSX.Element => (
    <label className="field">
      <span>{label}</span>
      <input
        value={f[key]}
        required={required}
        spellCheck={false}
        placeholder={placeholder}
        onChange={(e) => {
          setF({ ...f, [key]: e.target.value });
        }}
      />
    </label>
  );

  const add = async (): Promise<void> => {
    setBusy(true);
    const t = (s: string): string | undefined => s.trim() || undefined;
    const tls =
      tcp && (t(f.ca) || t(f.cert) || t(f.key))
        ? { ca: f.ca.trim(), cert: f.cert.trim(), key: f.key.trim() }
        : undefined;
    try {
      const probe = await call('engines:add', {
        name: f.name.trim(),
        endpoint: f.endpoint.trim(),
        ...(tls ? { tls } : {}),
        ...(ssh && t(f.sshKey) ? { sshKey: f.sshKey.trim() } : {}),
        ...(ssh && t(f.knownHosts) ? { knownHosts: f.knownHosts.trim() } : {}),
      });
      notify(
        'info',
        `Engine ${probe.name} added: Docker ${probe.version ?? '?'}, ${probe.latencyMs ?? '?'} ms.`,
      );
      setF({ name: '', endpoint: '', ca: '', cert: '', key: '', sshKey: '', knownHosts: '' });
      onAdded();
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="panel pad webhook-form"
      aria-label="Add an engine"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      {field('name', 'Name', 'staging', true)}
      {field('endpoint', 'Address', 'ssh://deploy@host or tcp://host:2376', true)}
      {tcp && (
        <>
          {field('ca', 'TLS CA file', '~/.docker/ca.pem')}
          {field('cert', 'TLS client certificate file', '~/.docker/cert.pem')}
          {field('key', 'TLS client key file', '~/.docker/key.pem')}
        </>
      )}
      {ssh && (
        <>
          {field('sshKey', 'SSH key file (empty: ssh-agent)', '~/.ssh/id_ed25519')}
          {field('knownHosts', 'known_hosts file (empty: ~/.ssh/known_hosts)', '~/.ssh/known_hosts')}
        </>
      )}
      <div className="webhook-buttons">
        <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
          {busy && <span className="spinner" />} Add engine
        </button>
      </div>
      <p className="sub">
        Added once it answers. Plain <code>tcp://</code> only on this machine (127.0.0.1); an SSH host&apos;s
        key must already be in known_hosts.
      </p>
    </form>
  );
}
