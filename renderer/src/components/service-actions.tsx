// What a person does to one service's containers (issue 13, item 12), as Docker Desktop offers it:
// restart, stop or start (each recorded in history as an out-of-band run), and the `docker exec` line
// to open a shell in it. A stop that self-heal would undo within seconds says so first.
import { useEffect, useRef, useState } from 'react';
import type { ContainerAction, ServiceStatus, StackStatus } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { onEngine, useEngineScope } from '../engine-scope.tsx';
import { useStore } from '../store.tsx';
import { Dialog } from './dialog.tsx';

/** The engine's own socket needs no -H; any other endpoint is named, so the line works as pasted. */
const LOCAL_SOCKET = 'unix:///var/run/docker.sock';

export function execCommand(container: string, endpoint: string | null | undefined): string {
  const host = endpoint && endpoint !== LOCAL_SOCKET ? ` -H ${endpoint}` : '';
  return `docker${host} exec -it ${container} sh`;
}

export function ServiceActions({
  stack,
  service,
}: {
  stack: StackStatus;
  service: ServiceStatus;
}): React.JSX.Element | null {
  const { notify } = useStore();
  const scope = useEngineScope();
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState<ContainerAction | null>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const running = service.state === 'running' || service.state === 'restarting';
  // Self-heal starts a stopped service again within seconds, unless the controller leaves the stack alone.
  const healUndoes =
    stack.policy.sync === 'auto' && stack.policy.selfHeal && !stack.suspended && scope.controlled;

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: MouseEvent): void => {
      if (!menu.current?.contains(e.target as Node) && e.target !== trigger.current) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => {
      document.removeEventListener('mousedown', away);
    };
  }, [open]);

  if (!service.container) return null;
  const container = service.container;

  const close = (): void => {
    setOpen(false);
    trigger.current?.focus();
  };

  const act = async (action: ContainerAction, suspendFirst = false): Promise<void> => {
    setConfirm(false);
    setBusy(action);
    try {
      if (suspendFirst)
        await call('stacks:suspend', { stack: stack.name, suspended: true, ...onEngine(scope) });
      const r = await call('containers:action', {
        stack: stack.name,
        service: service.name,
        action,
        ...onEngine(scope),
      });
      if (r.error) notify('error', `${r.error} (run ${r.runId} in History)`);
      else
        notify(
          'info',
          `${PAST[action]} ${service.name} (${r.containers.join(', ')}); recorded as run ${r.runId}.`,
        );
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const choose = (action: ContainerAction | 'exec'): void => {
    close();
    if (action === 'exec') {
      const line = execCommand(container, scope.endpoint);
      void navigator.clipboard.writeText(line).then(
        () => {
          notify('info', `Copied: ${line}`);
        },
        () => {
          notify('info', `Run: ${line}`);
        },
      );
    } else if (action === 'stop' && healUndoes) setConfirm(true);
    else void act(action);
  };

  const items: [ContainerAction | 'exec', string][] = [
    ['restart', 'Restart'],
    running ? ['stop', 'Stop'] : ['start', 'Start'],
    ['exec', 'Copy docker exec command'],
  ];

  return (
    <span className="service-actions">
      <button
        ref={trigger}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Actions for ${service.name}`}
        disabled={busy !== null}
        onClick={() => {
          setOpen(!open);
        }}
      >
        {busy ? <span className="spinner" /> : '⋯'}
      </button>
      {open && (
        <div
          ref={menu}
          role="menu"
          aria-label={`Actions for ${service.name}`}
          className="menu panel"
          onKeyDown={(e) => {
            const all = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
            const at = all.indexOf(document.activeElement as HTMLElement);
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              all[(at + (e.key === 'ArrowDown' ? 1 : all.length - 1)) % all.length]?.focus();
            } else if (e.key === 'Home' || e.key === 'End') {
              e.preventDefault();
              all[e.key === 'Home' ? 0 : all.length - 1]?.focus();
            } else if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              close();
            } else if (e.key === 'Tab') {
              setOpen(false);
            }
          }}
        >
          {items.map(([action, label]) => (
            <button
              key={action}
              role="menuitem"
              tabIndex={-1}
              onClick={() => {
                choose(action);
              }}
            >
              {label}
            </button>
          ))}
        </div>
      )}
      {confirm && (
        <Dialog
          title={`Stop ${service.name}?`}
          onClose={() => {
            setConfirm(false);
          }}
          actions={
            <>
              <button
                onClick={() => {
                  setConfirm(false);
                }}
              >
                Cancel
              </button>
              <button onClick={() => void act('stop')}>Stop anyway</button>
              <button className="primary" onClick={() => void act('stop', true)}>
                Suspend {stack.name} and stop
              </button>
            </>
          }
        >
          <p>
            Self-heal is on for <strong>{stack.name}</strong>: the controller will start {service.name} again
            within seconds, as git says it runs.
          </p>
          <p className="sub">
            To keep it stopped, suspend the stack’s controller first (resume it from the stack’s page).
          </p>
        </Dialog>
      )}
    </span>
  );
}

const PAST: Record<ContainerAction, string> = { restart: 'Restarted', stop: 'Stopped', start: 'Started' };
