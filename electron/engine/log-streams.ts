// The log streams windows follow (issue 13, item 6): one engine follow stream per container, their
// lines gathered and pushed to the one window that asked, at most every BATCH_MS. A window's streams
// end when it asks, when it opens another under the same id, and when it goes (its connection drops, it
// closes or reloads): the transports call `release`, so no engine connection outlives its reader.
import type { PushEvent } from '../shared/api.ts';
import type { LogLine } from '../shared/model.ts';
import type { DockerAdapter, LogFollow } from './docker/docker-adapter.ts';
import { MooringError, errorMessage } from './errors.ts';

/** Where pushes meant for one window alone go: the API's transports make one per connection. */
export interface ApiClient {
  push(event: PushEvent): void;
}

/** Lines are gathered this long before a push: a chatty container costs a few pushes a second. */
const BATCH_MS = 100;
/** At most this many lines per push; older ones of a burst are dropped and counted (`skipped`). */
export const MAX_BATCH_LINES = 2000;
/** Open streams per window: a combined view and a few more, not an unbounded number of engine connections. */
export const MAX_STREAMS_PER_CLIENT = 4;

interface Follow {
  closed: boolean;
  engine: LogFollow[];
  pending: (LogLine & { container: string })[];
  skipped: number;
  timer: NodeJS.Timeout | null;
}

export class LogStreams {
  private readonly clients = new Map<ApiClient, Map<string, Follow>>();
  /** Engine connections not yet released, for `openCount`. */
  private connections = 0;

  /**
   * Follows `containers` on `docker` for `client` under its id `stream`, after the last `tail` lines of
   * each. A container that cannot be followed (gone, engine error) is reported as ended with its error;
   * only if none can be is it a failure.
   */
  async open(
    client: ApiClient,
    stream: string,
    containers: string[],
    tail: number,
    docker: DockerAdapter,
  ): Promise<void> {
    let mine = this.clients.get(client);
    this.stop(client, stream);
    if (!mine) {
      mine = new Map();
      this.clients.set(client, mine);
    }
    if (mine.size >= MAX_STREAMS_PER_CLIENT) {
      throw new MooringError(
        'usage',
        `A window may follow at most ${MAX_STREAMS_PER_CLIENT} log streams at once; stop one first.`,
      );
    }
    const follow: Follow = { closed: false, engine: [], pending: [], skipped: 0, timer: null };
    mine.set(stream, follow);
    const flush = (): void => {
      follow.timer = null;
      if (follow.closed || follow.pending.length === 0) return;
      const lines = follow.pending;
      const skipped = follow.skipped;
      follow.pending = [];
      follow.skipped = 0;
      client.push({ type: 'logs', stream, lines, ...(skipped ? { skipped } : {}) });
    };
    const results = await Promise.allSettled(
      [...new Set(containers)].map(async (container) => {
        const f = await docker.followLogs(container, tail, {
          lines: (lines) => {
            if (follow.closed) return;
            for (const l of lines) follow.pending.push({ ...l, container });
            const over = follow.pending.length - MAX_BATCH_LINES;
            if (over > 0) {
              follow.pending.splice(0, over);
              follow.skipped += over;
            }
            follow.timer ??= setTimeout(flush, BATCH_MS);
          },
          end: (error) => {
            if (follow.closed) return;
            flush();
            client.push({ type: 'logs-end', stream, container, error });
          },
        });
        this.connections++;
        void f.closed.then(() => {
          this.connections--;
        });
        // Closed while it was being opened (the window went, or asked for another): let it go at once.
        if (follow.closed) f.close();
        else follow.engine.push(f);
      }),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ container: containers[i] ?? '', error: errorMessage(r.reason) }] : [],
    );
    if (failed.length === results.length && failed[0]) {
      this.stop(client, stream);
      throw new MooringError(
        'failed',
        `Cannot follow the logs of ${failed[0].container}: ${failed[0].error}`,
      );
    }
    for (const f of failed) {
      if (!follow.closed) client.push({ type: 'logs-end', stream, container: f.container, error: f.error });
    }
  }

  /** Ends one of the client's streams; nothing if it has none of that id. */
  stop(client: ApiClient, stream: string): void {
    const mine = this.clients.get(client);
    const follow = mine?.get(stream);
    if (!mine || !follow) return;
    mine.delete(stream);
    if (mine.size === 0) this.clients.delete(client);
    follow.closed = true;
    if (follow.timer) clearTimeout(follow.timer);
    for (const f of follow.engine) f.close();
  }

  /** Ends every stream of a window that went. */
  release(client: ApiClient): void {
    for (const stream of [...(this.clients.get(client)?.keys() ?? [])]) this.stop(client, stream);
  }

  releaseAll(): void {
    for (const client of [...this.clients.keys()]) this.release(client);
  }

  /** Engine follow connections still open (streams asked for and not yet released by the engine). */
  get openCount(): number {
    return this.connections;
  }
}
