// One run as history records it and the UI follows it: started with its plan, each action marked
// running, succeeded or failed as it goes with its progress events, and finished with a result. The
// container applier (apply.ts) and the Swarm applier (swarm/deploy.ts) both run their plans through it.
import type { PlanAction, Trigger } from '../../shared/model.ts';
import { errorMessage } from '../errors.ts';
import type { HistoryStore } from '../history/store.ts';

export type ProgressEvent =
  | { type: 'run-started'; runId: number; stack: string; revision: string; actions: PlanAction[] }
  | { type: 'action-started'; runId: number; index: number; action: PlanAction }
  | {
      type: 'action-finished';
      runId: number;
      index: number;
      action: PlanAction;
      error: string | null;
      ms: number;
    }
  /** A line of an action's own output while it runs (a build's log). */
  | { type: 'action-output'; runId: number; index: number; action: PlanAction; line: string }
  /**
   * The action waits: for its new container's healthcheck, for it to prove it stays up, or for a
   * service it depends on. Sent at each change the engine reports, with the healthcheck's last output.
   */
  | ({ type: 'action-waiting'; runId: number; index: number; action: PlanAction } & Waiting)
  | {
      type: 'run-finished';
      runId: number;
      stack: string;
      source: string;
      result: 'succeeded' | 'failed' | 'interrupted';
      error: string | null;
    };

export interface Waiting {
  /** What is waited for, in words: "app to be healthy", "db to be healthy", "app to stay up". */
  for: string;
  /** The healthcheck's last output, where there is one. */
  detail: string | null;
}

export class RecordedRun {
  readonly id: number;
  private readonly actionIds: number[];

  constructor(
    private readonly history: HistoryStore,
    private readonly input: {
      source: string;
      stack: string;
      revision: string;
      signer?: string | null;
      trigger: Trigger;
      actions: PlanAction[];
      /** The named engine the run acts on. */
      engine: string;
    },
    readonly emit: (event: ProgressEvent) => void = () => undefined,
  ) {
    this.id = history.runs.start({
      source: input.source,
      stack: input.stack,
      revision: input.revision,
      signer: input.signer ?? null,
      trigger: input.trigger,
      plan: input.actions,
      engine: input.engine,
    });
    emit({
      type: 'run-started',
      runId: this.id,
      stack: input.stack,
      revision: input.revision,
      actions: input.actions,
    });
    this.actionIds = input.actions.map((a) => history.runs.addAction(this.id, a));
  }

  /**
   * Runs action `index` recorded: running, then succeeded or failed with its message (thrown on).
   * `report: false` records it without sending its start and success (a pull reported beforehand).
   */
  async action(
    index: number,
    body: (onWait: (w: Waiting) => void) => Promise<void>,
    opts: { report?: boolean } = {},
  ): Promise<void> {
    const action = this.input.actions[index]!;
    const report = opts.report ?? true;
    const started = Date.now();
    const finished = (error: string | null): void => {
      this.emit({ type: 'action-finished', runId: this.id, index, action, error, ms: Date.now() - started });
    };
    this.history.runs.updateAction(this.actionIds[index]!, 'running');
    if (report) this.emit({ type: 'action-started', runId: this.id, index, action });
    try {
      await body((w) => {
        this.emit({ type: 'action-waiting', runId: this.id, index, action, ...w });
      });
    } catch (err) {
      this.history.runs.updateAction(this.actionIds[index]!, 'failed', errorMessage(err));
      finished(errorMessage(err));
      throw err;
    }
    this.history.runs.updateAction(this.actionIds[index]!, 'succeeded');
    if (report) finished(null);
  }

  /**
   * The actions at `indexes` at once, each recorded; every one is let finish. The failures as one
   * message ("kind target: why; …"), or null.
   */
  async level(
    indexes: number[],
    body: (index: number, onWait: (w: Waiting) => void) => Promise<void>,
    opts: { report?: (index: number) => boolean } = {},
  ): Promise<string | null> {
    const results = await Promise.allSettled(
      indexes.map((i) => this.action(i, (onWait) => body(i, onWait), { report: opts.report?.(i) ?? true })),
    );
    const failed = results.flatMap((r, k) => {
      if (r.status === 'fulfilled') return [];
      const action = this.input.actions[indexes[k]!]!;
      return [`${action.kind} ${action.target}: ${errorMessage(r.reason)}`];
    });
    return failed.length > 0 ? failed.join('; ') : null;
  }

  /** Ends the run; with an error, the actions not run are closed as skipped. */
  finish(error: string | null, interrupted = false): 'succeeded' | 'failed' | 'interrupted' {
    if (error) this.history.runs.closeActions(this.id, null);
    const result = interrupted ? 'interrupted' : error ? 'failed' : 'succeeded';
    this.history.runs.finish(this.id, result, error);
    this.emit({
      type: 'run-finished',
      runId: this.id,
      stack: this.input.stack,
      source: this.input.source,
      result,
      error,
    });
    return result;
  }
}
