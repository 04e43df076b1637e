// A person's restart, stop or start of one service's containers (issue 13, item 12), as Docker Desktop
// offers them. Each is recorded in history as an `out-of-band` run naming what was done, so that the
// drift it causes is explained; the stack's lock is held meanwhile, so it never interleaves with a run.
import type { ContainerAction, PlanAction, StackStatus } from '../../shared/model.ts';
import { errorMessage, MooringError } from '../errors.ts';
import type { EngineContext } from './context.ts';

/** Docker's default: what `docker stop` waits before it kills. */
const STOP_TIMEOUT_SEC = 10;

export interface ContainerActionResult {
  runId: number;
  containers: string[];
  error: string | null;
}

export async function containerAction(
  ctx: EngineContext,
  stack: StackStatus,
  service: string,
  action: ContainerAction,
): Promise<ContainerActionResult> {
  ctx.assertWritable(`${action} a service`);
  if (!stack.services.some((s) => s.name === service)) {
    throw new MooringError(
      'not-found',
      `Stack ${stack.name} has no service "${service}"; its services: ${stack.services.map((s) => s.name).join(', ') || 'none'}.`,
    );
  }
  const containers = await ctx.docker.serviceContainers(stack.name, service);
  if (containers.length === 0) {
    throw new MooringError(
      'not-found',
      `Service ${service} of ${stack.name} has no container made by this Mooring home to ${action}: sync the stack first.`,
    );
  }
  const owner = `a person's ${action} of ${service}`;
  const lock = ctx.records.locks.tryLock(stack.source, stack.name, owner);
  if (!lock.ok) {
    throw new MooringError(
      'conflict',
      `${stack.name} is busy: ${lock.holder} since ${lock.since}. Try again when it is done.`,
    );
  }
  try {
    const plan: PlanAction = {
      kind: action,
      target: service,
      reason: `asked for by a person (${containers.map((c) => c.name).join(', ')})`,
      diff: [],
      level: 0,
    };
    const runId = ctx.history.runs.start({
      source: stack.source,
      stack: stack.name,
      revision: stack.deployed ?? stack.revision ?? '',
      trigger: 'out-of-band',
      engine: ctx.engineName,
      plan: [plan],
    });
    const actionId = ctx.history.runs.addAction(runId, plan);
    ctx.history.runs.updateAction(actionId, 'running');
    let error: string | null = null;
    try {
      for (const c of containers) {
        if (action === 'restart') await ctx.docker.restart(c.id, STOP_TIMEOUT_SEC);
        else if (action === 'stop') await ctx.docker.stop(c.id, STOP_TIMEOUT_SEC);
        else await ctx.docker.start(c.id);
      }
    } catch (err) {
      error = `Could not ${action} ${service}: ${errorMessage(err)}`;
    }
    ctx.history.runs.updateAction(actionId, error ? 'failed' : 'succeeded', error);
    ctx.history.runs.finish(runId, error ? 'failed' : 'succeeded', error);
    return { runId, containers: containers.map((c) => c.name), error };
  } finally {
    ctx.records.locks.unlock(stack.source, stack.name);
  }
}
