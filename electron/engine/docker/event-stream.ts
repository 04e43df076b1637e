// The engine's container events, kept connected. When the stream drops (the engine restarted, the
// socket went away) it reconnects with capped exponential backoff, and says so, so that the
// controller can mark the engine unreachable and resync everything once it is back: events sent
// while disconnected are lost, so only a full look tells what changed meanwhile.
import type { Clock, TimerHandle } from '../reconcile/clock.ts';
import { backoffDelay } from '../reconcile/retry.ts';
import { errorMessage } from '../errors.ts';
import type { DockerAdapter } from './docker-adapter.ts';
import { LABELS } from './labels.ts';

export interface ContainerEvent {
  /** The compose project (stack) the container belongs to. */
  project: string;
  /** `die`, `start`, `health_status: healthy`… */
  action: string;
  containerId: string;
  /** Engine time, epoch ms. */
  time: number;
}

export interface EventStreamHandlers {
  onEvent(event: ContainerEvent): void;
  /** The stream is (again) connected: events from now on are seen. */
  onConnected(): void;
  /** The stream dropped or could not connect; called once per outage, not per retry. */
  onDisconnected(error: string): void;
}

export interface EventStreamOptions {
  clock: Clock;
  /** First reconnect delay; doubled per failed try up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  id?: string;
  timeNano?: number;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class DockerEventStream {
  private stream: NodeJS.ReadableStream | null = null;
  private timer: TimerHandle | null = null;
  private failures = 0;
  private connected = false;
  private stopped = true;
  /** Bumped on every (re)connect, so late callbacks of an old stream are ignored. */
  private generation = 0;

  constructor(
    /** Read on every connect: the engine's adapter is replaced when the endpoint changes. */
    private readonly docker: () => DockerAdapter,
    private readonly handlers: EventStreamHandlers,
    private readonly options: EventStreamOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.timer?.cancel();
    this.timer = null;
    this.destroyStream();
  }

  /** Drops the current stream and connects anew (for example when a poll finds the engine gone). */
  reconnect(): void {
    if (this.stopped) return;
    this.generation++;
    this.destroyStream();
    this.timer?.cancel();
    this.timer = null;
    void this.connect();
  }

  private destroyStream(): void {
    const s = this.stream;
    this.stream = null;
    s?.removeAllListeners();
    // An error after we stopped listening must not become an uncaught exception.
    s?.on('error', () => undefined);
    (s as { destroy?: () => void } | null)?.destroy?.();
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker().containerEvents();
    } catch (err) {
      if (generation !== this.generation || this.stopped) return;
      this.dropped(errorMessage(err));
      return;
    }
    if (generation !== this.generation || this.stopped) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    this.failures = 0;
    this.connected = true;
    let buffered = '';
    stream.on('data', (chunk: Buffer | string) => {
      // Events are JSON objects one per line, but a chunk may end in the middle of one.
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.parse(line);
      }
    });
    const onEnd = (why: string): void => {
      if (generation !== this.generation || this.stopped) return;
      this.generation++;
      this.stream = null;
      this.dropped(why);
    };
    stream.on('error', (err: unknown) => {
      onEnd(`the event stream broke (${errorMessage(err)})`);
    });
    stream.on('end', () => {
      onEnd('the engine closed the event stream');
    });
    stream.on('close', () => {
      onEnd('the event stream was closed');
    });
    this.handlers.onConnected();
  }

  private parse(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      return; // not an event; nothing to act on
    }
    const project = raw.Actor?.Attributes?.[LABELS.project];
    if (raw.Type !== 'container' || !project) return;
    this.handlers.onEvent({
      project,
      action: raw.Action ?? '',
      containerId: raw.Actor?.ID ?? raw.id ?? '',
      time: raw.timeNano ? Math.floor(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000,
    });
  }

  private dropped(error: string): void {
    if (this.connected || this.failures === 0) this.handlers.onDisconnected(error);
    this.connected = false;
    this.failures++;
    const policy = {
      maxAttempts: Number.POSITIVE_INFINITY,
      baseDelayMs: this.options.minDelayMs ?? 250,
      maxDelayMs: this.options.maxDelayMs ?? 10_000,
    };
    this.timer = this.options.clock.after(backoffDelay(this.failures, policy), () => {
      this.timer = null;
      if (!this.stopped) void this.connect();
    });
  }
}
