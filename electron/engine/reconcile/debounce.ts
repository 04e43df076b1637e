// A per-key trailing debounce with a ceiling. Self-heal waits for a burst of engine events to end
// (one `docker compose down` by hand stops and removes every container, one event each) before it
// acts once, instead of starting a run per event; the ceiling keeps a steady trickle of events from
// putting the repair off forever.
import type { Clock, TimerHandle } from './clock.ts';

interface Pending {
  firstAt: number;
  timer: TimerHandle;
}

export class Debouncer<K> {
  private readonly pending = new Map<K, Pending>();

  constructor(
    private readonly clock: Clock,
    /** Quiet time after the last poke before `fire` runs. */
    private readonly waitMs: number,
    /** `fire` runs at most this long after the first poke of a burst, however many pokes follow. */
    private readonly maxWaitMs: number,
    private readonly fire: (key: K) => void,
  ) {}

  /** Starts or extends the quiet period for `key`. */
  poke(key: K): void {
    const now = this.clock.now();
    const prev = this.pending.get(key);
    prev?.timer.cancel();
    const firstAt = prev?.firstAt ?? now;
    const due = Math.min(now + this.waitMs, firstAt + Math.max(this.waitMs, this.maxWaitMs));
    const timer = this.clock.after(due - now, () => {
      this.pending.delete(key);
      this.fire(key);
    });
    this.pending.set(key, { firstAt, timer });
  }

  cancel(key: K): void {
    this.pending.get(key)?.timer.cancel();
    this.pending.delete(key);
  }

  isPending(key: K): boolean {
    return this.pending.has(key);
  }

  clear(): void {
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
  }
}
