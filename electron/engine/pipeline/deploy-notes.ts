// After every run: a note on the deployed commit (machine, stack, engine, run, time, result, image
// ids), pushed where the source allows it. The deploy itself has already happened, so nothing here may
// fail it: every problem comes back as a message.
import { hostname } from 'node:os';
import { LOCAL_ENGINE, type NoteOutcome, type RunRecord } from '../../shared/model.ts';
import type { DockerAdapter } from '../docker/docker-adapter.ts';
import { errorMessage } from '../errors.ts';
import type { GitSource } from '../source/index.ts';
import type { GitAuthor } from '../source/git-write.ts';
import {
  appendDeployNote,
  listNotes,
  notesTip,
  parseNote,
  readNoteText,
  type DeployNote,
} from '../source/notes.ts';
import type { PipelineStore } from './pipeline-store.ts';

export type { NoteOutcome };

const MAX_ERROR = 500;

export async function writeDeployNote(input: {
  source: GitSource;
  docker: DockerAdapter;
  store: PipelineStore;
  run: RunRecord;
  author: GitAuthor;
}): Promise<NoteOutcome> {
  const { source, run } = input;
  const outcome: NoteOutcome = { commit: run.revision, written: false, pushed: null, error: null };
  if (!/^[0-9a-f]{40}$/.test(run.revision)) {
    outcome.error = `Run ${run.id} has no commit id to note (revision "${run.revision}").`;
    return outcome;
  }
  const note: DeployNote = {
    time: run.finishedAt ?? new Date().toISOString(),
    host: hostname(),
    stack: run.stack,
    ...(run.engine && run.engine !== LOCAL_ENGINE ? { engine: run.engine } : {}),
    runId: run.id,
    startedAt: run.startedAt,
    trigger: run.trigger,
    result: run.result,
    images: await stackImages(input.docker, run.stack).catch(() => []),
    ...(run.error ? { error: run.error.slice(0, MAX_ERROR) } : {}),
  };
  try {
    await appendDeployNote(source.gitdir, run.revision, note, input.author);
    outcome.written = true;
    await indexNotes(source, input.store).catch(() => undefined);
  } catch (err) {
    outcome.error = `Could not write the deploy note on ${run.revision.slice(0, 12)}: ${errorMessage(err)}`;
    return outcome;
  }
  if (source.config.kind === 'http') {
    try {
      outcome.pushed = await source.publishNotes();
    } catch (err) {
      outcome.pushed = false;
      outcome.error = `The deploy note on ${run.revision.slice(0, 12)} was written here but not pushed (it goes with the next one): ${errorMessage(err)}`;
    }
  }
  return outcome;
}

/** Image reference and id of each container of the stack, by service. */
async function stackImages(docker: DockerAdapter, stack: string): Promise<DeployNote['images']> {
  return (await docker.stackImages(stack)).sort((a, b) =>
    a.service < b.service ? -1 : a.service > b.service ? 1 : 0,
  );
}

/** Reads the notes ref into the deploys cache; only notes whose blob changed since the last read are parsed. */
export async function indexNotes(source: GitSource, store: PipelineStore): Promise<number> {
  const tip = await notesTip(source.gitdir);
  if (tip === null || tip === store.notesIndexed(source.config.name)) return 0;
  const known = store.noteBlobs(source.config.name);
  const changed: { commit: string; blob: string; deploys: DeployNote[] }[] = [];
  for (const [commit, blob] of await listNotes(source.gitdir, tip)) {
    if (known.get(commit) === blob) continue;
    changed.push({ commit, blob, deploys: parseNote(await readNoteText(source.gitdir, blob)) });
  }
  store.indexNotes(source.config.name, tip, changed);
  return changed.length;
}
