// The history's JSON columns (a commit's parents and stacks, a run's plan, a drift's fields) read
// through a schema: a row written by another version of Mooring, or damaged on disk, fails here with the
// table and column named, instead of travelling on as a wrong type into the status or the UI (issue 12).
import { z } from 'zod';
import type { ActionKind, DriftReason, PlanAction } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';

const StringList = z.array(z.string());

const DriftReasonSchema = z.looseObject({
  path: z.string(),
  desired: z.string().nullable(),
  live: z.string().nullable(),
}) satisfies z.ZodType<DriftReason>;

const DriftReasonList = z.array(DriftReasonSchema);

// Loose objects: keys this version does not list are kept, as JSON.parse kept them.
// A kind is kept as written: a newer Mooring may have recorded a kind this one does not know, and its
// history still reads.
const PlanList = z.array(
  z.looseObject({
    kind: z.custom<ActionKind>((v) => typeof v === 'string'),
    target: z.string(),
    reason: z.string(),
    diff: DriftReasonList,
    level: z.number(),
  }) satisfies z.ZodType<PlanAction>,
);

function readColumn<T>(schema: z.ZodType<T>, text: string, column: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new MooringError(
      'failed',
      `The history database holds a damaged ${column} value: ${text.slice(0, 80)}`,
    );
  return parsed.data;
}

export const readStringList = (text: string, column: string): string[] =>
  readColumn(StringList, text, column);
export const readDriftReasons = (text: string, column: string): DriftReason[] =>
  readColumn(DriftReasonList, text, column);
export const readPlan = (text: string, column: string): PlanAction[] => readColumn(PlanList, text, column);
