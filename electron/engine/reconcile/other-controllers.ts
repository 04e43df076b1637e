// The controllers of the other named engines a repo sends stacks to (issue 15), beside the one of the
// engine in use: one per engine this machine maps, each with its own deployments, lease, backoff and
// events, so an engine that does not answer holds up none of the others. Started and stopped as the
// repo and the engines' settings change. The app (ApiService) and `mooring watch --all-engines` keep one.
// They fetch nothing themselves: the controller of the engine in use fetches, and they follow its fetches.
import type { ElsewhereView, StackStatus } from '../../shared/model.ts';
import type { Engine } from '../engine.ts';
import type { Controller, ControllerEvent } from './controller.ts';

export interface OtherControllersHooks {
  /** An event of one of them, with its engine's name. */
  event(engine: string, e: ControllerEvent): void;
  /** One could not start (another process drives that engine: `mooring --engine NAME watch`). */
  failed(engine: string, err: unknown): void;
  /** The set of running controllers changed. */
  changed(): void;
}

export class OtherControllers {
  /** By engine name, each with the settings it was started with (as JSON): changed ones start anew. */
  private readonly running = new Map<
    string,
    { controller: Controller; unsubscribe: () => void; config: string }
  >();
  /** Starts and stops them, one change at a time. */
  private change: Promise<void> = Promise.resolve();
  /** The engines, with their settings, last asked for. */
  private asked = '';
  /** False once stopped: a change still queued then starts nothing. */
  private active = false;

  constructor(
    private readonly engine: Engine,
    /** Makes a controller with these options (its engine's sources fetched by the engine in use's). */
    private readonly create: (engine: Engine, options: { fetches: false }) => Controller,
    private readonly hooks: OtherControllersHooks,
  ) {}

  /** The engines a controller runs on, by name. */
  get names(): string[] {
    return [...this.running.keys()].sort();
  }

  get(name: string): Controller | undefined {
    return this.running.get(name)?.controller;
  }

  /**
   * Runs a controller on each configured engine, other than the one in use, that these stacks (of the
   * engine in use) or the stacks sent elsewhere name, and on no other; anew on one whose settings changed.
   */
  follow(stacks: readonly StackStatus[], elsewhere: readonly ElsewhereView[]): Promise<void> {
    this.active = true;
    const configured = new Map(this.engine.engines.list().map((e) => [e.name, JSON.stringify(e.config)]));
    const wanted = [
      ...new Set(
        [
          ...stacks.flatMap((s) => s.policy.engines ?? []),
          ...elsewhere.flatMap((e) => e.engines.map((x) => x.name)),
        ].filter((n) => configured.has(n) && n !== this.engine.engineName),
      ),
    ].sort();
    const asked = JSON.stringify(wanted.map((n) => [n, configured.get(n)]));
    if (asked === this.asked) return this.change;
    this.asked = asked;
    return this.drive(wanted);
  }

  /**
   * The controller of the engine in use fetched a source (its `source` event): each of these reads the
   * sources again, rather than fetching them itself (one repo is fetched once, however many engines).
   */
  sourcesFetched(): void {
    for (const o of this.running.values()) o.controller.sourcesFetched();
  }

  /** Stops every one of them. */
  stop(): Promise<void> {
    this.active = false;
    this.asked = '';
    return this.drive([]);
  }

  private drive(names: readonly string[]): Promise<void> {
    const change = this.change.then(async () => {
      const configOf = (name: string): string | null => {
        const found = this.engine.engines.list().find((e) => e.name === name);
        return found ? JSON.stringify(found.config) : null;
      };
      for (const [name, o] of [...this.running]) {
        if (names.includes(name) && configOf(name) === o.config) continue;
        this.running.delete(name);
        await o.controller.stop();
        o.unsubscribe();
      }
      for (const name of names) {
        const config = configOf(name);
        if (this.running.has(name) || !this.active || config === null) continue;
        const controller = this.create(this.engine.onEngine(name), { fetches: false });
        const unsubscribe = controller.subscribe((e) => {
          this.hooks.event(name, e);
        });
        try {
          await controller.start();
          this.running.set(name, { controller, unsubscribe, config });
          // A fetch the engine in use's controller made while this one started is read now.
          controller.sourcesFetched();
        } catch (err) {
          unsubscribe();
          this.hooks.failed(name, err);
        }
      }
      this.hooks.changed();
    });
    this.change = change.catch(() => undefined);
    return change;
  }
}
