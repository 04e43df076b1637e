// The API over a message port (issue 16, item 4): the desktop runs the engine and the controller in
// Electron's utility process, off the event loop that draws the window, and the main process reaches
// them through a MessagePort. Both ends are here, free of Electron, so the same tests run them under
// Node with worker_threads' MessagePort. The host serves an ApiService; the client has the service's
// shape (handle, subscribe, release, current), so the main process uses it as it used the service.
//
// What crosses: calls and their replies, pushes (to every window, or to one: its log streams), a
// window's release, and the secret store's three calls, which go the other way: only the main process
// can reach the OS keychain (Electron safeStorage).
import { z } from 'zod';
import type { PushEvent, Reply, Snapshot } from '../shared/api.ts';
import { EMPTY_SNAPSHOT, applyDelta } from '../shared/snapshot-delta.ts';
import type { ApiClient, ApiService, SecretStore } from './api-service.ts';
import { errorMessage } from './errors.ts';
import { tokenEnvName } from './source/url-credentials.ts';

/** One end of a message channel: Electron's MessagePortMain and Node's MessagePort both adapt to it. */
export interface Port {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  close(): void;
}

/** What the host is started with: plain data, sent as the first message with the port. */
export const HostInit = z.strictObject({
  home: z.string().min(1),
  /** The better-sqlite3 build the main process chose for this runtime (native-sqlite.ts). */
  sqlite: z.strictObject({ label: z.string(), nativeBinding: z.string().optional() }),
  /** The main process keeps secrets for it (the OS keychain); false where it cannot. */
  secrets: z.boolean(),
});
export type HostInit = z.infer<typeof HostInit>;

type SecretOp = 'save' | 'remove' | 'saveVariable';

/** Main process → host. */
const ToHost = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('call'),
    id: z.number().int(),
    method: z.string(),
    params: z.unknown(),
    client: z.number().int().nullable(),
  }),
  z.strictObject({ kind: z.literal('release'), client: z.number().int() }),
  z.strictObject({
    kind: z.literal('secret-reply'),
    id: z.number().int(),
    value: z.string().nullable(),
    error: z.string().nullable(),
  }),
  z.strictObject({ kind: z.literal('stop') }),
]);
type ToHost = z.infer<typeof ToHost>;

/** Host → main process. Its own process's messages: checked for shape, not parsed field by field. */
type ToMain =
  | { kind: 'ready' }
  | { kind: 'fatal'; message: string }
  | { kind: 'stopped' }
  | { kind: 'reply'; id: number; reply: Reply<unknown> }
  | { kind: 'event'; client: number | null; event: PushEvent }
  | { kind: 'secret'; id: number; op: SecretOp; args: string[] };

/** The host's secret store: each call is answered by the main process's store; the variable is set here too. */
class SecretsOverPort implements SecretStore {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();

  constructor(private readonly port: Port) {}

  answer(m: Extract<ToHost, { kind: 'secret-reply' }>): void {
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.error !== null) w?.reject(new Error(m.error));
    else w?.resolve(m.value ?? '');
  }

  private ask(op: SecretOp, args: string[]): Promise<string> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.port.post({ kind: 'secret', id, op, args } satisfies ToMain);
    });
  }

  async save(source: string, token: string): Promise<string> {
    const name = await this.ask('save', [source, token]);
    process.env[name] = token;
    return name;
  }

  async remove(source: string): Promise<void> {
    await this.ask('remove', [source]);
    Reflect.deleteProperty(process.env, tokenEnvName(source));
  }

  async saveVariable(name: string, value: string): Promise<void> {
    await this.ask('saveVariable', [name, value]);
    process.env[name] = value;
  }
}

export interface ApiHost {
  /** The secret store to give the service (null when the main process keeps none). */
  readonly secrets: SecretStore | null;
  /**
   * Answers calls with `service` and forwards its pushes; calls that came before are answered now.
   * Resolves when the main process asked it to stop, `onStop` has run and the main process was told.
   */
  serve(service: ApiService, onStop: () => Promise<void>): Promise<void>;
  /** The service could not be made: the main process is told why, and every call is refused with it. */
  fail(err: unknown): void;
}

/** The host's end: in the utility process (or, in tests, wherever the service runs). */
export function hostApi(port: Port, withSecrets: boolean): ApiHost {
  const secrets = withSecrets ? new SecretsOverPort(port) : null;
  const clients = new Map<number, ApiClient>();
  let service: ApiService | null = null;
  let failure: string | null = null;
  let stop: (() => Promise<void>) | null = null;
  let stopped: () => void = () => undefined;
  const early: Extract<ToHost, { kind: 'call' }>[] = [];
  const post = (m: ToMain): void => {
    port.post(m);
  };

  const clientOf = (id: number | null): ApiClient | null => {
    if (id === null) return null;
    let c = clients.get(id);
    if (!c) {
      c = {
        push: (event) => {
          post({ kind: 'event', client: id, event });
        },
      };
      clients.set(id, c);
    }
    return c;
  };

  const call = (m: Extract<ToHost, { kind: 'call' }>): void => {
    if (!service) {
      if (failure === null) early.push(m);
      else
        post({
          kind: 'reply',
          id: m.id,
          reply: { ok: false, error: { code: 'internal', message: failure } },
        });
      return;
    }
    service.handle(m.method, m.params, clientOf(m.client)).then(
      (reply) => {
        post({ kind: 'reply', id: m.id, reply });
      },
      (err: unknown) => {
        // handle() answers every failure itself; this is a bug, still an answer.
        post({
          kind: 'reply',
          id: m.id,
          reply: { ok: false, error: { code: 'internal', message: errorMessage(err) } },
        });
      },
    );
  };

  port.onMessage((raw) => {
    const parsed = ToHost.safeParse(raw);
    if (!parsed.success) return; // only the main process holds the other end
    const m = parsed.data;
    switch (m.kind) {
      case 'call':
        call(m);
        break;
      case 'release': {
        const c = clients.get(m.client);
        clients.delete(m.client);
        if (c) service?.release(c);
        break;
      }
      case 'secret-reply':
        secrets?.answer(m);
        break;
      case 'stop':
        void (stop ?? (() => Promise.resolve()))()
          .catch(() => undefined)
          .finally(() => {
            post({ kind: 'stopped' });
            stopped();
          });
        break;
    }
  });

  return {
    secrets,
    serve(s, onStop) {
      service = s;
      stop = onStop;
      s.subscribe((event) => {
        post({ kind: 'event', client: null, event });
      });
      post({ kind: 'ready' });
      for (const m of early.splice(0)) call(m);
      return new Promise((resolve) => {
        stopped = resolve;
      });
    },
    fail(err) {
      failure = errorMessage(err);
      post({ kind: 'fatal', message: failure });
      for (const m of early.splice(0)) call(m);
    },
  };
}

type Listener = (event: PushEvent) => void;

/**
 * The main process's end: the service's shape over the port. `secrets` answers the host's secret calls.
 * When the host goes (`closed`), calls waiting and calls after get an error reply naming why.
 */
export class ApiClientOverPort {
  private nextCall = 1;
  private nextClient = 1;
  private readonly waiting = new Map<number, (reply: Reply<unknown>) => void>();
  private readonly clientIds = new Map<ApiClient, number>();
  private readonly byId = new Map<number, ApiClient>();
  private readonly listeners = new Set<Listener>();
  private snapshot: Snapshot | null = null;
  private gone: string | null = null;
  private readonly started: Promise<void>;
  private notStarted: (e: Error) => void = () => undefined;
  private stopped: (() => void) | null = null;

  constructor(
    private readonly port: Port,
    private readonly secrets: SecretStore | null,
  ) {
    let ready: () => void = () => undefined;
    this.started = new Promise((resolve, reject) => {
      ready = resolve;
      this.notStarted = reject;
    });
    port.onMessage((raw) => {
      const m = raw as ToMain;
      switch (m.kind) {
        case 'ready':
          ready();
          break;
        case 'fatal':
          this.closed(m.message);
          break;
        case 'stopped':
          this.stopped?.();
          break;
        case 'reply': {
          const w = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          w?.(m.reply);
          break;
        }
        case 'event':
          this.onEvent(m.client, m.event);
          break;
        case 'secret':
          void this.answerSecret(m);
          break;
      }
    });
  }

  /** Resolves when the host serves; rejects with its reason if it could not start, or went before. */
  ready(): Promise<void> {
    return this.started;
  }

  handle(method: string, params: unknown, client: ApiClient | null = null): Promise<Reply<unknown>> {
    if (this.gone !== null)
      return Promise.resolve({ ok: false, error: { code: 'internal', message: this.gone } });
    const id = this.nextCall++;
    return new Promise((resolve) => {
      this.waiting.set(id, (reply) => {
        // A whole snapshot is where pushes go on from (the first, or after a missed one).
        if (method === 'app:snapshot' && reply.ok) {
          const s = reply.value as Snapshot;
          if (s.version >= (this.snapshot?.version ?? 0)) this.snapshot = s;
        }
        resolve(reply);
      });
      this.port.post({
        kind: 'call',
        id,
        method,
        params,
        client: client && this.idOf(client),
      } satisfies ToHost);
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A window went: what it followed ends in the host too. */
  release(client: ApiClient): void {
    const id = this.clientIds.get(client);
    if (id === undefined) return;
    this.clientIds.delete(client);
    this.byId.delete(id);
    if (this.gone === null) this.port.post({ kind: 'release', client: id } satisfies ToHost);
  }

  /** The snapshot the pushes brought this end to (as the service's `current`); null before the first. */
  current(): Snapshot | null {
    return this.snapshot;
  }

  /** Asks the host to stop its controller and close the engine; resolves when it has (or has gone). */
  stop(): Promise<void> {
    if (this.gone !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.port.post({ kind: 'stop' } satisfies ToHost);
    });
  }

  /** The host went (its process exited): every call waiting, and every later one, is answered with why. */
  closed(reason: string): void {
    if (this.gone !== null) return;
    this.gone = reason;
    this.notStarted(new Error(reason)); // nothing once it served
    for (const w of this.waiting.values()) w({ ok: false, error: { code: 'internal', message: reason } });
    this.waiting.clear();
    this.stopped?.();
  }

  private idOf(client: ApiClient): number {
    let id = this.clientIds.get(client);
    if (id === undefined) {
      id = this.nextClient++;
      this.clientIds.set(client, id);
      this.byId.set(id, client);
    }
    return id;
  }

  private onEvent(client: number | null, event: PushEvent): void {
    if (client !== null) {
      this.byId.get(client)?.push(event);
      return;
    }
    if (event.type === 'delta') {
      // A delta that does not follow what this end holds (none yet, or one missed) is not applied: the
      // next `app:snapshot` call brings the whole one.
      this.snapshot = applyDelta(this.snapshot ?? EMPTY_SNAPSHOT, event);
    }
    for (const l of this.listeners) l(event);
  }

  private async answerSecret(m: Extract<ToMain, { kind: 'secret' }>): Promise<void> {
    let value: string | null = null;
    let error: string | null = null;
    try {
      const [a = '', b = ''] = m.args;
      if (!this.secrets) throw new Error('This app cannot keep secrets here.');
      if (m.op === 'save') value = await this.secrets.save(a, b);
      else if (m.op === 'remove') await this.secrets.remove(a);
      else await this.secrets.saveVariable(a, b);
    } catch (err) {
      error = errorMessage(err);
    }
    this.port.post({ kind: 'secret-reply', id: m.id, value, error } satisfies ToHost);
  }
}
