// Hostile input for the manifest loaders (issue 10, item 11 and its kind): every file of the config repo
// is chosen by whoever can push to it, so its size, its nesting, its aliases and its duplicate keys are
// bounded and checked in linear time. Speed itself is measured in test/bench, never asserted here.
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredStack, ManifestError, SafetySettings } from '../../electron/shared/model.ts';
import { loadStack, parsePolicyFile } from '../../electron/engine/manifest/index.ts';
import type { LoadResult } from '../../electron/engine/manifest/index.ts';
import { nestingEstimate } from '../../electron/engine/manifest/yaml-file.ts';

async function loadFiles(
  files: Record<string, string>,
  safety: Partial<SafetySettings> = {},
): Promise<LoadResult> {
  return loadStack({
    reader: {
      readFile: (path) => Promise.resolve(files[path] ?? null),
      stat: (path) => Promise.resolve(path in files ? { type: 'blob', oid: 'f'.repeat(40) } : null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety: { ...DEFAULT_SAFETY, ...safety },
    homeDir: '/home/me',
  });
}

async function errors(
  compose: string,
  extra: Record<string, string> = {},
  safety: Partial<SafetySettings> = {},
): Promise<ManifestError[]> {
  const result = await loadFiles({ 'web/compose.yaml': compose, ...extra }, safety);
  if (result.ok) throw new Error('expected the stack to be refused');
  return result.errors;
}

async function load(compose: string, extra: Record<string, string> = {}): Promise<DesiredStack> {
  const result = await loadFiles({ 'web/compose.yaml': compose, ...extra });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return result.stack;
}

const where = (errs: ManifestError[]): [string, number, number, string][] =>
  errs.map((e) => [e.file, e.line, e.column, e.message]);

const dup = (key: string, line: number, column: number): string =>
  `YAML: Map keys must be unique; "${key}" is already at line ${line}, column ${column}`;

describe('duplicate keys, checked with a Set per map', () => {
  it('in nested block maps, at the repeated key', async () => {
    const errs = await errors(`services:
  web:
    image: a
    environment:
      A: "1"
      B: "2"
      A: "3"
`);
    expect(where(errs)).toEqual([['web/compose.yaml', 7, 7, dup('A', 5, 7)]]);
  });

  it('in flow maps, and in maps the loader never reads (x- extensions)', async () => {
    const errs = await errors(`x-notes: {a: 1, b: {c: 1, c: 2}}
services: {web: {image: a, init: true, image: b}}
`);
    expect(where(errs)).toEqual([
      ['web/compose.yaml', 1, 27, dup('c', 1, 21)],
      ['web/compose.yaml', 2, 40, dup('image', 2, 18)],
    ]);
  });

  it('keys that differ only in quoting, or in type, are one key to the loader', async () => {
    const errs = await errors(`services:
  web:
    image: a
    "image": b
    environment:
      1: one
      "1": uno
      'true': t
      true: T
`);
    expect(where(errs)).toEqual([
      ['web/compose.yaml', 4, 5, dup('image', 3, 5)],
      ['web/compose.yaml', 7, 7, dup('1', 6, 7)],
      ['web/compose.yaml', 9, 7, dup('true', 8, 7)],
    ]);
  });

  it('a key written as an alias of an earlier key', async () => {
    const errs = await errors(`x-key: &k image
services:
  web:
    image: a
    *k : b
`);
    expect(where(errs)).toEqual([['web/compose.yaml', 5, 5, dup('image', 4, 5)]]);
  });

  it('merge keys behave as before: several `<<` in a map, and merged keys under own keys, pass', async () => {
    const stack = await load(`x-a: &a {restart: always, init: true}
x-b: &b {restart: "no", user: "1000"}
services:
  web:
    <<: *a
    <<: *b
    image: x
    restart: unless-stopped
`);
    expect(stack.services[0]).toMatchObject({ restart: 'unless-stopped', init: true, user: '1000' });
  });

  it('in mooring.yaml too', () => {
    expect(parsePolicyFile('stacks:\n  web: {sync: auto}\n  web: {sync: manual}\n', 'mooring.yaml')).toEqual({
      ok: false,
      errors: [{ file: 'mooring.yaml', line: 3, column: 3, message: dup('web', 2, 3) }],
    });
  });
});

describe('file size, checked before parsing', () => {
  const big = (bytes: number): string => {
    const head = 'services:\n  web:\n    image: x\nx-pad: "';
    return `${head}${'a'.repeat(bytes - head.length - 2)}"\n`;
  };

  it('a compose file over safety.maxManifestBytes (1 MB by default)', async () => {
    expect(big(1_000_000)).toHaveLength(1_000_000);
    expect((await load(big(1_000_000))).services).toHaveLength(1);
    expect(await errors(big(1_000_001))).toEqual([
      {
        file: 'web/compose.yaml',
        line: 1,
        column: 1,
        message:
          'web/compose.yaml is 1,000,001 bytes, over the limit of 1,000,000 bytes for a file read from the config repo; make it smaller, or raise safety.maxManifestBytes in settings.json',
      },
    ]);
  });

  it('counts bytes, not characters', async () => {
    // 600,000 characters of two bytes each: 1.2 MB.
    const wide = `services: {web: {image: x}}\nx-pad: "${'é'.repeat(600_000)}"\n`;
    expect((await errors(wide))[0]!.message).toMatch(
      /^web\/compose\.yaml is 1,200,0\d\d bytes, over the limit/,
    );
  });

  it('the limit is a local setting', async () => {
    expect((await errors(big(2_000), {}, { maxManifestBytes: 1_999 }))[0]!.message).toContain(
      'is 2,000 bytes, over the limit of 1,999 bytes',
    );
    const ok = await loadFiles({ 'web/compose.yaml': big(2_000) }, { maxManifestBytes: 2_000 });
    expect(ok.ok).toBe(true);
  });

  it('.env, env_file, and the env files of a stack in all', async () => {
    const compose = 'services:\n  web:\n    image: x\n    env_file: [a.env, b.env]\n';
    const env = (bytes: number): string => `A=${'x'.repeat(bytes - 3)}\n`;
    const limit = { maxManifestBytes: 1_000 };
    expect(where(await errors(compose, { 'web/.env': env(1_001) }, limit))).toEqual([
      [
        'web/.env',
        1,
        1,
        'web/.env is 1,001 bytes, over the limit of 1,000 bytes for a file read from the config repo; make it smaller, or raise safety.maxManifestBytes in settings.json',
      ],
    ]);
    expect(where(await errors(compose, { 'web/a.env': env(1_001), 'web/b.env': env(10) }, limit))).toEqual([
      [
        'web/a.env',
        1,
        1,
        'web/a.env is 1,001 bytes, over the limit of 1,000 bytes for a file read from the config repo; make it smaller, or raise safety.maxManifestBytes in settings.json',
      ],
    ]);
    // Each under the limit, together over it: one blob under many names must not multiply the work.
    expect(where(await errors(compose, { 'web/a.env': env(600), 'web/b.env': env(600) }, limit))).toEqual([
      [
        'web/b.env',
        1,
        1,
        'web/b.env brings the env files of this stack past 1,000 bytes in all, the limit of safety.maxManifestBytes in settings.json',
      ],
    ]);
    // One file named twice is read, counted and reported once.
    const twice = 'services:\n  web:\n    image: x\n    env_file: [a.env, ./a.env, a.env]\n';
    const stack = await loadFiles({ 'web/compose.yaml': twice, 'web/a.env': env(600) }, limit);
    expect(stack.ok).toBe(true);
    expect(where(await errors(twice, { 'web/a.env': 'A=1\nbad line\n' }))).toEqual([
      ['web/a.env', 2, 1, '"bad line": a variable name cannot contain a space'],
    ]);
  });

  it('mooring.yaml, with the default limit or the one the engine passes from the settings', () => {
    const text = `stacks:\n  web: {sync: auto}\n# ${'x'.repeat(1_000_000)}\n`;
    expect(parsePolicyFile(text, 'config/mooring.yaml')).toEqual({
      ok: false,
      errors: [
        {
          file: 'config/mooring.yaml',
          line: 1,
          column: 1,
          message: `config/mooring.yaml is ${text.length.toLocaleString('en-US')} bytes, over the limit of 1,000,000 bytes for a file read from the config repo; make it smaller, or raise safety.maxManifestBytes in settings.json`,
        },
      ],
    });
    expect(parsePolicyFile(text, 'config/mooring.yaml', 2_000_000).ok).toBe(true);
  });
});

describe('aliases, nesting and other super-linear shapes', () => {
  it('resolves each alias to the last anchor completed before it', async () => {
    const stack = await load(`x-a: &img first
x-b: &img second
services:
  web: {image: *img}
`);
    expect(stack.services[0]!.image).toBe('second');
  });

  it('an alias inside its own anchor names nothing (no cycles for the loaders)', async () => {
    expect(where(await errors('services: &s\n  web: *s\n'))).toEqual([
      ['web/compose.yaml', 2, 8, 'YAML: alias *s names no anchor'],
    ]);
  });

  it('bounds what aliases stand for (billion laughs), though nothing is ever copied', async () => {
    const levels = Array.from(
      { length: 7 },
      (_, i) => `x-l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`,
    );
    const bomb = ['x-l0: &l0 [a, b, c, d, e, f, g, h, i, j]', ...levels, 'services: {web: {image: x}}', ''];
    const errs = await errors(bomb.join('\n'));
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [
        6,
        'YAML: aliases stand for more than 1,000,000 nodes in all; write the content out instead of repeating aliases of large anchors',
      ],
    ]);
    // Five levels stand for 123,440 nodes: fine.
    expect(
      (await load([...bomb.slice(0, 5), 'services: {web: {image: x}}', ''].join('\n'))).services,
    ).toHaveLength(1);
  });

  it('bounds nesting, with a clear message however deep', async () => {
    const nested = (depth: number): string =>
      `services: {web: {image: x}}\nx-n: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    // The document's own map is the first level.
    expect((await load(nested(99))).services).toHaveLength(1);
    expect(where(await errors(nested(100)))).toEqual([
      ['web/compose.yaml', 2, 105, 'YAML: collections are nested too deeply; the limit is 100 levels'],
    ]);
    // So deep that the library would run out of call stack: refused from the tokens, before it recurses,
    // where the count (which may be up to twice the real depth) passes 200.
    expect(where(await errors(nested(100_000)))).toEqual([
      ['web/compose.yaml', 2, 204, 'YAML: collections are nested too deeply; the limit is 100 levels'],
    ]);
    const block = await errors(`services: {web: {image: x}}\nx-n:\n  ${'- '.repeat(100_000)}a\n`);
    expect(where(block)).toEqual([
      ['web/compose.yaml', 3, 393, 'YAML: collections are nested too deeply; the limit is 100 levels'],
    ]);
    // Block maps, one level per line: 90 levels load; at 300 the estimate (about twice the depth here)
    // passes 200 on line 101.
    const blockMaps = (n: number): string =>
      `services: {web: {image: x}}\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}x-k${i}:\n`).join('')}`;
    expect((await load(blockMaps(90))).services).toHaveLength(1);
    expect(where(await errors(blockMaps(300)))).toEqual([
      ['web/compose.yaml', 101, 100, 'YAML: collections are nested too deeply; the limit is 100 levels'],
    ]);
  });

  it('the nesting estimate made before parsing never falls short of the real depth', () => {
    // A seeded generator of nested maps, lists and scalars (block scalars and brackets in strings too),
    // written out in block, flow and compact styles.
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const make = (depth: number): unknown => {
      const r = random();
      if (depth > 8 || r < 0.3)
        return ['x', 'multi\nline\n', 'a [b] {c: d}', '- e'][Math.floor(random() * 4)];
      if (r < 0.6) return Array.from({ length: 1 + Math.floor(random() * 3) }, () => make(depth + 1));
      return Object.fromEntries(
        Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => [`k${i}`, make(depth + 1)]),
      );
    };
    const depthOf = (node: unknown): number =>
      isMap(node)
        ? 1 + Math.max(0, ...node.items.map((p) => depthOf(p.value)))
        : isSeq(node)
          ? 1 + Math.max(0, ...node.items.map(depthOf))
          : 0;
    const styles = [{}, { indent: 1 }, { indent: 4, indentSeq: false }, { collectionStyle: 'flow' as const }];
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const value = make(0);
      for (const style of styles) {
        const text = stringify({ root: value }, style);
        const real = depthOf(parseDocument(text).contents);
        if (nestingEstimate(text, Infinity).depth < real)
          expect.fail(`the estimate falls short for:\n${text}`);
        checked++;
      }
    }
    for (const text of [
      '- - - - a\n',
      '? - - a\n: - - b\n',
      '-\n  -\n    - a\n',
      'a:\n# c\n    b:\n      c: 1\n',
    ]) {
      expect(nestingEstimate(text, Infinity).depth).toBeGreaterThanOrEqual(
        depthOf(parseDocument(text).contents),
      );
    }
    expect(checked).toBe(240);
  });

  it('reads every file as YAML 1.2, whatever its %YAML directive, and leaves 1.1 tags unresolved', async () => {
    const errs = await errors('%YAML 1.1\n---\nservices:\n  web:\n    image: x\n    init: yes\n');
    expect(where(errs)).toEqual([['web/compose.yaml', 6, 11, 'services.web.init must be true or false']]);
    const tags = await errors('services: {web: {image: x}}\nx-o: !!omap [a: 1, b: 2]\nx-s: !!set {a, b}\n');
    expect(tags.map((e) => [e.line, e.message])).toEqual([
      [2, 'YAML: Unresolved tag: tag:yaml.org,2002:omap'],
      [3, 'YAML: Unresolved tag: tag:yaml.org,2002:set'],
    ]);
  });

  it('bounds nested interpolation, and reports it instead of throwing', async () => {
    const nested = (depth: number): string =>
      `services:\n  web:\n    image: x\n    labels: {a: "${'${A:-'.repeat(depth)}x${'}'.repeat(depth)}"}\n`;
    expect((await load(nested(10))).services[0]!.labels).toEqual({ a: 'x' });
    const errs = await errors(nested(11));
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [4, 'services.web.labels.a: variables are nested more than 10 deep'],
    ]);
    expect((await errors(nested(100_000))).map((e) => e.message)).toEqual([
      'services.web.labels.a: variables are nested more than 10 deep',
    ]);
  });

  it('reports at most 200 problems, and how many more there were', async () => {
    const keys = Array.from({ length: 1_000 }, (_, i) => `    k${i}: 1\n`).join('');
    const errs = await errors(`services:\n  web:\n    image: x\n${keys}`);
    expect(errs).toHaveLength(201);
    expect(errs[200]).toMatchObject({ line: 204, message: '… and 800 more problems from here on' });
    const values = Array.from({ length: 1_000 }, () => '"${"').join(', ');
    const bad = await errors(`services:\n  web:\n    image: x\n    command: [${values}]\n`);
    expect(bad).toHaveLength(200);
    expect(bad.at(-1)!.message).toBe('… and 801 more values that cannot be interpolated');
  });

  it('a long depends_on chain loads, and a long cycle is named in short', async () => {
    const n = 8_000;
    const chain = Array.from({ length: n }, (_, i) =>
      i + 1 < n ? `  s${i}: {image: x, depends_on: [s${i + 1}]}\n` : `  s${i}: {image: x}\n`,
    ).join('');
    expect((await load(`services:\n${chain}`)).services).toHaveLength(n);
    const cycle = chain.replace(`  s${n - 1}: {image: x}\n`, `  s${n - 1}: {image: x, depends_on: [s0]}\n`);
    const errs = await errors(`services:\n${cycle}`);
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [
        n + 1,
        `services.s${n - 1}: dependency cycle s0 → s1 → s2 → s3 → s4 → s5 → … ${n + 1 - 12} more … → s${n - 5} → s${n - 4} → s${n - 3} → s${n - 2} → s${n - 1} → s0`,
      ],
    ]);
  });

  it('bounds what port ranges expand to in a stack (single ports are not expansions)', async () => {
    const errs = await errors(`services:
  a: {image: x, ports: ["1-65535:1-65535"]}
  b: {image: x, ports: ["1-65535:1-65535/udp", "8080:80"]}
`);
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [
        3,
        'services.b.ports[0]: "1-65535:1-65535/udp" publishes 65535 ports, more than the 0 this stack may still publish',
      ],
    ]);
  });
});
