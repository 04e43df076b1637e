// The pure parts of the pipeline stages: the tar writer (checked against the system's tar), the
// .dockerignore matcher, the image rewrite that keeps every other byte, the build output parser and the
// commit message template.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BuildOutputParser,
  defaultImageName,
  describeFailure,
  imageTag,
} from '../../electron/engine/pipeline/build.ts';
import { readServiceImage, rewriteServiceImage } from '../../electron/engine/pipeline/compose-edit.ts';
import { parseDockerignore } from '../../electron/engine/pipeline/dockerignore.ts';
import { DEFAULT_PROMOTE_MESSAGE, expandMessage } from '../../electron/engine/pipeline/promote.ts';
import { tarArchive } from '../../electron/engine/pipeline/tar.ts';
import { digestFor } from '../../electron/engine/docker/docker-adapter.ts';
import { mergeNoteText, noteLine, parseNote } from '../../electron/engine/source/notes.ts';

describe('tar writer', () => {
  it('writes an archive that tar reads back: files, modes, symlinks, long and non-ASCII names', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-tar-'));
    try {
      const long = `${'deep/'.repeat(30)}file.txt`;
      const longer = `${'x'.repeat(120)}/${'y'.repeat(120)}.txt`;
      const archive = tarArchive([
        { path: 'Dockerfile', mode: 0o644, mtime: 1_700_000_000, data: Buffer.from('FROM scratch\n') },
        { path: 'bin/run.sh', mode: 0o755, mtime: 1_700_000_000, data: Buffer.from('#!/bin/sh\necho hi\n') },
        { path: 'link', mode: 0o777, mtime: 1_700_000_000, linkTarget: 'bin/run.sh' },
        { path: long, mode: 0o644, mtime: 1_700_000_000, data: Buffer.from('long\n') },
        { path: longer, mode: 0o644, mtime: 1_700_000_000, data: Buffer.from('longer\n') },
        { path: 'ünïcødé.txt', mode: 0o644, mtime: 1_700_000_000, data: Buffer.from('u\n') },
        { path: 'empty', mode: 0o644, mtime: 1_700_000_000, data: new Uint8Array() },
      ]);
      expect(archive.length % 512).toBe(0);
      const file = path.join(dir, 'a.tar');
      await writeFile(file, archive);
      const out = path.join(dir, 'out');
      execFileSync('mkdir', ['-p', out]);
      execFileSync('tar', ['-xf', file, '-C', out]);
      expect(await readFile(path.join(out, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
      expect(await readFile(path.join(out, long), 'utf8')).toBe('long\n');
      expect(await readFile(path.join(out, longer), 'utf8')).toBe('longer\n');
      expect(await readFile(path.join(out, 'ünïcødé.txt'), 'utf8')).toBe('u\n');
      expect(await readFile(path.join(out, 'empty'), 'utf8')).toBe('');
      expect(await readlink(path.join(out, 'link'))).toBe('bin/run.sh');
      const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
      expect(listing).toMatch(/^-rwxr-xr-x .* bin\/run\.sh$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('.dockerignore', () => {
  it('follows moby semantics: segments, **, negation, last match wins, folders', () => {
    const ig = parseDockerignore(
      ['# comment', 'node_modules', '*.log', '!keep.log', 'docs/**/*.md', '/tmp', ''].join('\n'),
    );
    expect(ig.ignores('node_modules/a/b.js')).toBe(true);
    expect(ig.ignores('app.log')).toBe(true);
    expect(ig.ignores('keep.log')).toBe(false);
    expect(ig.ignores('sub/app.log')).toBe(false); // * stays within a segment
    expect(ig.ignores('docs/a/b/c.md')).toBe(true);
    expect(ig.ignores('docs/c.md')).toBe(true);
    expect(ig.ignores('docs/c.txt')).toBe(false);
    expect(ig.ignores('tmp/x')).toBe(true);
    expect(ig.ignores('src/index.ts')).toBe(false);
    expect(parseDockerignore('**/*.pyc').ignores('a/b/c.pyc')).toBe(true);
    expect(parseDockerignore('*\n!src').ignores('src/x.ts')).toBe(false);
  });
});

describe('rewriteServiceImage', () => {
  const file = 'web/compose.yaml';
  const text = [
    '# the web stack',
    'name: web   # comment kept',
    'x-common: &common',
    '  restart: always',
    'services:',
    '  app:',
    "    image: 'repo/app:old'   # pinned by CI",
    '    <<: *common',
    '    ports: ["8080:80"]',
    '  worker: {image: "repo/worker:1", command: run}',
    '  plain:',
    '    image: repo/plain:1',
    '',
  ].join('\r\n');

  it('changes exactly the scalar and keeps its quoting, comments and line endings', () => {
    const edit = rewriteServiceImage(text, file, 'app', 'repo/app:new');
    expect(edit.changed).toBe(true);
    expect(edit.oldImage).toBe('repo/app:old');
    expect(edit.line).toBe(7);
    expect(edit.text).toBe(text.replace("'repo/app:old'", "'repo/app:new'"));
    const flow = rewriteServiceImage(text, file, 'worker', 'repo/worker:2');
    expect(flow.text).toBe(text.replace('"repo/worker:1"', '"repo/worker:2"'));
    const plain = rewriteServiceImage(
      text,
      file,
      'plain',
      'registry.local:5000/plain@sha256:' + 'a'.repeat(64),
    );
    expect(plain.text).toBe(
      text.replace('repo/plain:1', 'registry.local:5000/plain@sha256:' + 'a'.repeat(64)),
    );
    expect(readServiceImage(plain.text, file, 'plain')).toBe(
      'registry.local:5000/plain@sha256:' + 'a'.repeat(64),
    );
  });

  it('says plainly what it cannot do', () => {
    expect(rewriteServiceImage(text, file, 'app', 'repo/app:old').changed).toBe(false);
    expect(() => rewriteServiceImage(text, file, 'nope', 'x:1')).toThrow(
      /Service "nope" is not in web\/compose.yaml; its services are: app, worker, plain/,
    );
    expect(() => rewriteServiceImage(text, file, 'app', 'bad image')).toThrow(/not an image reference/);
    const interpolated = 'services:\n  app:\n    image: app:${TAG}\n';
    expect(() => rewriteServiceImage(interpolated, file, 'app', 'app:2')).toThrow(/interpolated.*\.env/);
    const merged = 'x: &b\n  image: a:1\nservices:\n  app:\n    <<: *b\n';
    expect(() => rewriteServiceImage(merged, file, 'app', 'a:2')).toThrow(/merge key/);
    const anchored = 'services:\n  a:\n    image: &img a:1\n  b:\n    image: *img\n';
    expect(() => rewriteServiceImage(anchored, file, 'a', 'a:2')).toThrow(/anchored/);
    expect(() => rewriteServiceImage(anchored, file, 'b', 'a:2')).toThrow(/alias/);
    expect(() => rewriteServiceImage('services: [\n', file, 'a', 'a:2')).toThrow(/not valid YAML/);
  });
});

describe('build output', () => {
  it('joins the engine chunks into lines and tracks the step', () => {
    const p = new BuildOutputParser();
    const items = [
      ...p.feed({ stream: 'Step 1/2 : FROM local/busybox:1' }),
      ...p.feed({ stream: '\n' }),
      ...p.feed({ stream: ' ---> abc\nStep 2/2 : RUN exit 3' }),
      ...p.feed({ stream: '\n' }),
      ...p.feed({
        errorDetail: { message: 'returned a non-zero code: 3' },
        error: 'returned a non-zero code: 3',
      }),
    ];
    expect(items.filter((i) => i.kind === 'line').map((i) => (i.kind === 'line' ? i.line : ''))).toEqual([
      'Step 1/2 : FROM local/busybox:1',
      ' ---> abc',
      'Step 2/2 : RUN exit 3',
      'ERROR: returned a non-zero code: 3',
    ]);
    expect(p.current).toEqual({ step: 2, total: 2, instruction: 'RUN exit 3' });
    expect(describeFailure('returned a non-zero code: 3', p.current, false)).toBe(
      'Step 2/2 (RUN exit 3) failed: returned a non-zero code: 3',
    );
  });

  it('names images after the repo and tags them with the commit', () => {
    expect(defaultImageName('/srv/My App.git')).toBe('my-app');
    expect(defaultImageName('http://127.0.0.1:1234/team/shop-api.git')).toBe('shop-api');
    expect(imageTag('shop-api', 'abcdef0123456789abcdef0123456789abcdef01')).toBe('shop-api:abcdef012345');
    expect(imageTag('registry:5000/team/app:v1', 'abc')).toBe('registry:5000/team/app:v1');
    expect(() => imageTag('Bad Name', 'abc')).toThrow(/not an image name/);
  });
});

describe('promote message', () => {
  it('shows old → new and drops lines about what is unknown', () => {
    const values = {
      stack: 'web',
      service: 'app',
      old: 'a:1',
      new: 'a:2',
      file: 'web/compose.yaml',
      appRepo: null,
      appCommit: null,
      appCommitShort: null,
    };
    expect(expandMessage(DEFAULT_PROMOTE_MESSAGE, values)).toBe(
      'Promote web/app to a:2\n\nweb/compose.yaml: a:1 → a:2',
    );
    expect(
      expandMessage(DEFAULT_PROMOTE_MESSAGE, { ...values, appCommit: 'c0ffee', appRepo: '/src/app' }),
    ).toContain('App commit: c0ffee\nApp repo: /src/app');
    expect(expandMessage('deploy {new} {unknown}', values)).toBe('deploy a:2 {unknown}');
  });
});

describe('deploy note text', () => {
  const d = (time: string, host: string, runId: number) => ({
    time,
    host,
    stack: 'web',
    runId,
    startedAt: time,
    trigger: 'auto',
    result: 'succeeded',
    images: [{ service: 'app', image: 'app:1', id: 'sha256:1' }],
  });

  it('is one JSON line per deploy, merged like cat_sort_uniq, and skips foreign lines', () => {
    const a = `${noteLine(d('2026-01-01T00:00:02Z', 'a', 1))}\n`;
    const b = `${noteLine(d('2026-01-01T00:00:01Z', 'b', 7))}\n${noteLine(d('2026-01-01T00:00:02Z', 'a', 1))}\n`;
    const merged = mergeNoteText(a, b);
    expect(merged.trimEnd().split('\n')).toHaveLength(2);
    expect(parseNote(merged).map((x) => x.host)).toEqual(['b', 'a']);
    expect(mergeNoteText(a, b)).toBe(mergeNoteText(b, a));
    expect(parseNote('reviewed by Kim\n' + a)).toHaveLength(1);
  });

  it('keeps an image digest a rollback can pull by, and drops one that is not a digest reference (issue 17)', () => {
    const digest = `registry.example/app@sha256:${'a'.repeat(64)}`;
    const withDigests = (digests: unknown[]) =>
      JSON.stringify({
        ...d('2026-01-01T00:00:01Z', 'a', 1),
        images: digests.map((x, i) => ({
          service: `s${i}`,
          image: 'app:1',
          id: 'sha256:1',
          digest: x,
          extra: 1,
        })),
      });
    const hostile = [
      `app@sha256:${'a'.repeat(63)}`,
      `app:1`,
      `app@sha256:${'A'.repeat(64)}`,
      `--privileged@sha256:${'a'.repeat(64)}`,
      `app@sha256:${'a'.repeat(64)} x`,
      42,
    ];
    const [note] = parseNote(withDigests([digest, ...hostile]));
    expect(note!.images[0]).toEqual({ service: 's0', image: 'app:1', id: 'sha256:1', digest });
    // Every other image is kept without its digest, and no key a deploy does not have survives.
    for (const image of note!.images.slice(1))
      expect(Object.keys(image).sort()).toEqual(['id', 'image', 'service']);
    expect(parseNote(noteLine(note!))[0]!.images[0]!.digest).toBe(digest);
  });
});

describe('digestFor', () => {
  it("picks the digest of the image's own repository among those an image has", () => {
    const h = (c: string) => `sha256:${c.repeat(64)}`;
    const digests = [`mirror.example/nginx@${h('a')}`, `nginx@${h('b')}`];
    expect(digestFor('nginx:1.27', digests)).toBe(`nginx@${h('b')}`);
    expect(digestFor('mirror.example/nginx:1.27', digests)).toBe(`mirror.example/nginx@${h('a')}`);
    expect(digestFor('localhost:5000/app', [`localhost:5000/app@${h('c')}`])).toBe(
      `localhost:5000/app@${h('c')}`,
    );
    expect(digestFor('other:1', digests)).toBe(digests[0]);
    expect(digestFor('built-here:1', [])).toBeUndefined();
  });
});
