// The renderer's one door to the engine: Electron's preload bridge where it exists, else the
// browser-mode WebSocket. Both speak the same contract (electron/shared/api.ts).
import type { Method, MooringApi, Params, PushEvent, Reply, Results } from '../../../electron/shared/api.ts';

declare global {
  interface Window {
    mooring?: MooringApi;
  }
}

type Pending = (reply: Reply<unknown>) => void;

/**
 * The token arrives in the URL fragment (never sent to a server), then lives in this tab's session
 * only. The tab trades it for the browser session (a cookie and a key, electron/server/request-guard.ts),
 * which lets other tabs of this browser in until it closes: a second tab, a Ctrl-click (issue 13, item 11).
 */
function takeToken(): string | null {
  const match = /(?:^#|&)token=([\w-]+)/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem('mooring-token', match[1]);
    history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
    return match[1];
  }
  return sessionStorage.getItem('mooring-token');
}

/** The browser session's half kept by the page (the cookie is the server's to set and send). */
const SESSION_KEY = 'mooring-session-key';

function sessionKey(): string | null {
  try {
    return localStorage.getItem(SESSION_KEY);
  } catch {
    return null; // storage disabled: only the tab with the token gets in
  }
}

/** Trades the token for the browser session; on any failure this tab still has its token. */
async function exchangeToken(token: string): Promise<void> {
  try {
    const r = await fetch('/api/session', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!r.ok) return;
    const { key } = (await r.json()) as { key?: unknown };
    if (typeof key === 'string') localStorage.setItem(SESSION_KEY, key);
  } catch {
    // no session for other tabs; this one goes on with the token
  }
}

let messageAt: number | null = null;

/**
 * When the message being handled arrived, before it was parsed: the store times a push from here to
 * React's commit (test/bench/push.ts). Electron's bridge hands over parsed objects: null there.
 */
export function messageReceivedAt(): number | null {
  return messageAt;
}

const NO_ACCESS = 'No access to Mooring in this browser session: open the URL that `mooring serve` printed.';

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'unauthorized';

class WebSocketApi implements MooringApi {
  readonly transport = 'browser' as const;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: PushEvent) => void>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private opened: Promise<void> | null = null;
  private exchanged: Promise<void> | null = null;
  private everOpen = false;
  private retryMs = 500;
  state: ConnectionState = 'connecting';

  constructor(private readonly token: string | null) {}

  onState(listener: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private connect(): Promise<void> {
    if (this.opened) return this.opened;
    // The first connection waits for the exchange, so that the session exists once the app shows.
    this.exchanged ??= this.token ? exchangeToken(this.token) : Promise.resolve();
    this.opened = this.exchanged.then(() => this.open());
    return this.opened;
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // This tab's token, or else the browser session's key (its cookie goes along by itself).
      const key = this.token ? null : sessionKey();
      const credential = this.token
        ? `token=${encodeURIComponent(this.token)}`
        : key
          ? `key=${encodeURIComponent(key)}`
          : null;
      if (!credential) {
        this.setState('unauthorized');
        reject(new Error(NO_ACCESS));
        return;
      }
      const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/api?${credential}`;
      const ws = new WebSocket(url);
      this.ws = ws;
      let wasOpen = false;
      ws.onopen = () => {
        wasOpen = true;
        this.everOpen = true;
        this.retryMs = 500;
        this.setState('open');
        resolve();
      };
      ws.onmessage = (m) => {
        messageAt = performance.now();
        const msg = JSON.parse(String(m.data)) as { id?: number; reply?: Reply<unknown>; event?: PushEvent };
        if (msg.event) for (const l of this.listeners) l(msg.event);
        else if (typeof msg.id === 'number' && msg.reply) {
          this.pending.get(msg.id)?.(msg.reply);
          this.pending.delete(msg.id);
        }
      };
      ws.onclose = () => {
        this.opened = null;
        for (const p of this.pending.values()) {
          p({ ok: false, error: { code: 'unreachable', message: 'The connection to Mooring was lost.' } });
        }
        this.pending.clear();
        if (!this.token && !this.everOpen) {
          // The page came from this server, so it is up: it refused the browser session (another
          // browser, a server started since, or cookies blocked). Only the printed URL helps.
          this.setState('unauthorized');
          reject(new Error(NO_ACCESS));
          return;
        }
        if (!wasOpen && this.state !== 'open') {
          reject(new Error('Cannot connect to Mooring: it may have stopped, or this link is stale.'));
        }
        this.setState('closed');
        // Reconnect with backoff while the page is open: the server may just be restarting.
        setTimeout(() => {
          void this.connect().then(
            () => {
              for (const l of this.listeners)
                l({ type: 'notice', level: 'info', message: 'Reconnected to Mooring.' });
            },
            () => undefined,
          );
        }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      };
    });
  }

  async invoke<M extends Method>(method: M, params: Params<M>): Promise<Reply<Results[M]>> {
    try {
      await this.connect();
    } catch (err) {
      return { ok: false, error: { code: 'unreachable', message: (err as Error).message } };
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as Pending);
      this.ws!.send(JSON.stringify({ id, method, params }));
    });
  }

  subscribe(listener: (e: PushEvent) => void): () => void {
    this.listeners.add(listener);
    void this.connect().catch(() => undefined);
    return () => this.listeners.delete(listener);
  }
}

let api: MooringApi | null = null;

export function getApi(): MooringApi {
  api ??= window.mooring ?? new WebSocketApi(takeToken());
  return api;
}

/** Connection state of the browser transport; Electron's bridge is always open. */
export function onConnectionState(listener: (s: ConnectionState) => void): () => void {
  const a = getApi();
  if (a instanceof WebSocketApi) return a.onState(listener);
  listener('open');
  return () => undefined;
}

/** Calls the API and throws the typed error's message, for places that show it. */
export async function call<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
  const reply = await getApi().invoke(method, params);
  if (!reply.ok) throw new ApiCallError(reply.error.code, reply.error.message);
  return reply.value;
}

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
