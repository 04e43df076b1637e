// Notices beyond the desktop (issue 13, item 9): an outgoing webhook per home that is told when a stack
// drifts, a run fails and self-heal repairs something, as generic JSON, an ntfy message or a Slack
// incoming-webhook message. The URL is a secret (a Slack or ntfy URL is all it takes to post): it lives
// in an environment variable named in settings.json (the desktop keeps it in the OS keychain and sets
// the variable at start), and is never logged or put into an error message.
import { hostname } from 'node:os';
import {
  LOCAL_ENGINE,
  type StackStatus,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookFormat,
  type WebhookSettings,
} from '../../shared/model.ts';
import { errorMessage, MooringError } from '../errors.ts';
import type { DeliveryRepository, ToldRepository } from '../history/deliveries.ts';
import {
  driftSummary,
  type ControllerDriftEvent,
  type ControllerLogEvent,
} from '../reconcile/controller-decide.ts';

/** Version of the JSON format; a field is only ever added within one version. */
export const WEBHOOK_SCHEMA_VERSION = 1;
const TIMEOUT_MS = 10_000;

export interface Notice {
  event: WebhookEvent;
  stack: string | null;
  source: string | null;
  runId: number | null;
  /** A few words: what happened to which stack. */
  title: string;
  /** The rest, in plain words (the controller's own line). */
  message: string;
  at: string;
  /** The named engine the stack is on, when not `local` (issue 15). */
  engine?: string;
}

/** The controller's events a notifier reads (two of its ControllerEvent shapes). */
export type NotifierEvent = ControllerDriftEvent | ControllerLogEvent;

export interface WebhookRequest {
  headers: Record<string, string>;
  body: string;
}

const NTFY_TAGS: Record<WebhookEvent, string> = {
  drift: 'warning',
  failed: 'x',
  healed: 'white_check_mark',
  test: 'test_tube',
};

/** HTTP header values are Latin-1: anything else becomes `?` rather than failing the request. */
const headerSafe = (s: string): string => s.replace(/[^\x20-\x7e\xa0-\xff]/g, '?').slice(0, 250);
/** Slack's three escapes, so that a stack name or an error is never read as a link or a mention. */
const slackEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The request a notice becomes in each format. */
export function webhookRequest(n: Notice, format: WebhookFormat, host = hostname()): WebhookRequest {
  switch (format) {
    case 'json':
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schemaVersion: WEBHOOK_SCHEMA_VERSION, host, ...n }),
      };
    case 'ntfy':
      // ntfy's publish-by-topic-URL form: the body is the message, the rest rides in headers.
      return {
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          title: headerSafe(`Mooring on ${host}: ${n.title}`),
          tags: NTFY_TAGS[n.event],
          priority: n.event === 'failed' || n.event === 'drift' ? '4' : '3',
        },
        body: n.message,
      };
    case 'slack':
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          text: `*${slackEscape(`Mooring on ${host}: ${n.title}`)}*\n${slackEscape(n.message)}`,
        }),
      };
  }
}

export interface NotifierDeps {
  settings: () => WebhookSettings | undefined;
  deliveries: DeliveryRepository;
  /** What was last told of each stack on the controller's engine. */
  told: ToldRepository;
  /** The controller's engine: a notice about a stack on another than `local` names it. */
  engine?: string;
  env?: NodeJS.ProcessEnv;
  /** Wait before the one retry of a delivery that could not reach the receiver or got a 5xx/429. */
  retryDelayMs?: number;
}

/**
 * Turns the controller's events into notices and sends them one at a time, in order. The same drift or
 * failure of a stack is told once until the stack is in sync again (kept in the database, so a restart
 * does not tell it again). Every attempt is recorded with its answer for Settings to show.
 */
export class WebhookNotifier {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: NotifierDeps) {}

  /** A controller listener. */
  readonly observe = (e: NotifierEvent): void => {
    const notice = this.noticeOf(e);
    if (notice) void this.tell(notice.notice, notice.signature);
  };

  /**
   * Sends a notice if a webhook is set and wants this event; `signature` (drift, failed): what it was
   * about, told once per stack until it is in sync. Resolves to the delivery, or null when not sent.
   */
  tell(n: Notice, signature?: string): Promise<WebhookDelivery | null> {
    const w = this.deps.settings();
    if (!w || (n.event !== 'test' && !w.events[n.event])) return Promise.resolve(null);
    const engine = this.deps.engine;
    if (n.stack && engine && engine !== LOCAL_ENGINE)
      n = { ...n, engine, title: `${n.title} (on ${engine})` };
    if (signature && n.stack && (n.event === 'drift' || n.event === 'failed')) {
      if (this.deps.told.lastTold(n.stack, n.event) === signature) return Promise.resolve(null);
      this.deps.told.told(n.stack, n.event, signature);
    }
    const next = this.queue.then(() => this.deliver(n, w));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Sends a test notice now; throws when no webhook is set. */
  async test(): Promise<WebhookDelivery> {
    if (!this.deps.settings()) {
      throw new MooringError(
        'usage',
        'No webhook is set: set one first (Settings, or `mooring webhook set`).',
      );
    }
    const d = await this.tell({
      event: 'test',
      stack: null,
      source: null,
      runId: null,
      title: 'test notice',
      message: 'Sent to check the webhook. Nothing happened to any stack.',
      at: new Date().toISOString(),
    });
    return d!;
  }

  /** Resolves once every notice asked for so far was sent or failed. */
  idle(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  private noticeOf(e: NotifierEvent): { notice: Notice; signature?: string } | null {
    if (e.type === 'drift') return { notice: driftNotice(e.status, e.at), signature: driftSummary(e.status) };
    if (!e.stack) return null;
    const base = {
      stack: e.stack,
      source: e.source ?? null,
      runId: e.runId ?? null,
      message: e.message,
      at: e.at,
    };
    if (e.kind === 'in-sync') {
      this.deps.told.inSync(e.stack);
      return null;
    }
    if ((e.kind === 'run-finished' && e.level === 'error') || e.kind === 'gave-up') {
      const what =
        e.kind === 'gave-up'
          ? 'the controller gave up'
          : e.runId !== undefined
            ? `run ${e.runId} failed`
            : 'a run failed';
      // The same failure (same error on the same stack) is told once; the run id and times vary.
      const signature = `${e.kind}:${e.message.replace(/^run \d+ /, '').replace(/ in [\d.]+ m?s/, '')}`;
      return { notice: { ...base, event: 'failed', title: `${e.stack}: ${what}` }, signature };
    }
    if (e.kind === 'run-finished' && e.level === 'info' && e.trigger === 'self-heal') {
      return { notice: { ...base, event: 'healed', title: `${e.stack} repaired by self-heal` } };
    }
    return null;
  }

  private async deliver(n: Notice, w: WebhookSettings): Promise<WebhookDelivery> {
    const url = (this.deps.env ?? process.env)[w.urlEnv];
    let status: number | null = null;
    let error: string | null = null;
    if (!url) {
      error = `${w.urlEnv}, the variable that holds the webhook's URL, is not set for this process.`;
    } else if (!/^https?:\/\//i.test(url)) {
      error = `${w.urlEnv} does not hold an http:// or https:// URL.`;
    } else {
      const req = webhookRequest(n, w.format);
      for (let attempt = 1; attempt <= 2; attempt++) {
        ({ status, error } = await post(url, req));
        const again = status === null || status === 429 || status >= 500;
        if (error === null || !again || attempt === 2) break;
        await new Promise((r) => setTimeout(r, this.deps.retryDelayMs ?? 2_000));
      }
    }
    const d = {
      at: new Date().toISOString(),
      event: n.event,
      stack: n.stack,
      format: w.format,
      status,
      error,
    };
    try {
      return { id: this.deps.deliveries.add(d), ...d };
    } catch {
      return { id: 0, ...d }; // a read-only home: sent, not recorded
    }
  }
}

function driftNotice(st: StackStatus, at: string): Notice {
  return {
    event: 'drift',
    stack: st.name,
    source: st.source,
    runId: null,
    title: `${st.name} drifted from git`,
    message: `${st.name} @ ${st.revision?.slice(0, 7) ?? '?'} differs from git: ${driftSummary(st)}${st.suspended ? ' (suspended: left alone)' : ''}`,
    at,
  };
}

/** One POST; the error in words without the URL (it is the secret). */
async function post(
  url: string,
  req: WebhookRequest,
): Promise<{ status: number | null; error: string | null }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return { status: res.status, error: null };
    const hint =
      res.status === 401 || res.status === 403 || res.status === 404
        ? ': check the URL (a revoked or mistyped webhook URL answers so)'
        : '';
    return { status: res.status, error: `The receiver answered ${res.status} ${res.statusText}${hint}.` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const name = (err as { name?: string }).name;
    const why =
      name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : (cause?.code ?? cause?.message ?? errorMessage(err));
    return { status: null, error: `Could not reach the receiver (${why.split(url).join('<url>')}).` };
  }
}
