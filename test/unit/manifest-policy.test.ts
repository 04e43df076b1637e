import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, parsePolicyFile } from '../../electron/engine/manifest/index.ts';

describe('parsePolicyFile', () => {
  it('reads each stack, filling missing fields with the defaults', () => {
    const text = `stacks:
  web: { sync: auto, selfHeal: true, prune: true }
  db: { sync: manual }
  cache:
  worker:
    prune: true
`;
    expect(parsePolicyFile(text, 'mooring.yaml')).toEqual({
      ok: true,
      stacks: {
        web: { sync: 'auto', selfHeal: true, prune: true },
        db: { sync: 'manual', selfHeal: false, prune: false },
        cache: { sync: 'manual', selfHeal: false, prune: false },
        worker: { sync: 'manual', selfHeal: false, prune: true },
      },
    });
  });

  it('defaults to manual sync without self-heal or prune', () => {
    expect(DEFAULT_POLICY).toEqual({ sync: 'manual', selfHeal: false, prune: false });
  });

  it('accepts an empty file or an empty stacks map', () => {
    expect(parsePolicyFile('', 'mooring.yaml')).toEqual({ ok: true, stacks: {} });
    expect(parsePolicyFile('# nothing yet\n', 'mooring.yaml')).toEqual({ ok: true, stacks: {} });
    expect(parsePolicyFile('stacks:\n', 'mooring.yaml')).toEqual({ ok: true, stacks: {} });
  });

  it('reports unknown keys and values with line and column', () => {
    const text = `stacks:
  web:
    sync: always
    selfheal: true
    prune: maybe
  Web2: {}
controller: {}
`;
    expect(parsePolicyFile(text, 'config/mooring.yaml')).toEqual({
      ok: false,
      errors: [
        {
          file: 'config/mooring.yaml',
          line: 3,
          column: 11,
          message: 'stacks.web.sync must be `auto` or `manual`',
        },
        {
          file: 'config/mooring.yaml',
          line: 4,
          column: 5,
          message:
            "stacks.web.selfheal: unknown key; a stack's policy has sync, selfHeal, prune, profiles, mode and engines",
        },
        {
          file: 'config/mooring.yaml',
          line: 5,
          column: 12,
          message: 'stacks.web.prune must be true or false',
        },
        {
          file: 'config/mooring.yaml',
          line: 6,
          column: 3,
          message:
            'stacks.Web2: "Web2" is not a stack name; stack names are lowercase letters, digits, - and _ (here "web2")',
        },
        {
          file: 'config/mooring.yaml',
          line: 7,
          column: 1,
          message: 'controller: unknown key; mooring.yaml holds only `stacks`',
        },
      ],
    });
  });

  it('reads how a stack runs on a Swarm manager (issue 15): containers or swarm, nothing else', () => {
    expect(
      parsePolicyFile('stacks:\n  web: { mode: containers }\n  api: { mode: swarm }\n', 'mooring.yaml'),
    ).toEqual({
      ok: true,
      stacks: {
        web: { sync: 'manual', selfHeal: false, prune: false, mode: 'containers' },
        api: { sync: 'manual', selfHeal: false, prune: false, mode: 'swarm' },
      },
    });
    const bad = parsePolicyFile('stacks:\n  web: { mode: kubernetes }\n', 'mooring.yaml');
    expect(bad).toEqual({
      ok: false,
      errors: [
        expect.objectContaining({ line: 2, message: 'stacks.web.mode must be `containers` or `swarm`' }),
      ],
    });
  });

  it('reads the engines a stack goes to (issue 15): engine names, one or a list, at least one', () => {
    const ok = parsePolicyFile(
      'stacks:\n  web: { engines: [staging, homelab, staging] }\n  db: { engines: nas.home }\n  api: {}\n',
      'mooring.yaml',
    );
    expect(ok).toEqual({
      ok: true,
      stacks: {
        web: { ...DEFAULT_POLICY, engines: ['staging', 'homelab'] },
        db: { ...DEFAULT_POLICY, engines: ['nas.home'] },
        api: DEFAULT_POLICY,
      },
    });
    const bad = parsePolicyFile(
      'stacks:\n  web: { engines: ["my engine"] }\n  db: { engines: [] }\n',
      'mooring.yaml',
    );
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toEqual([
      'stacks.web.engines: "my engine" is not an engine name (letters, digits, _ . -)',
      'stacks.db.engines: name at least one engine',
    ]);
  });

  it('reads the compose profiles active for a stack (issue 11)', () => {
    const text = `stacks:
  web: { sync: auto, profiles: [debug, tools, debug] }
  db: { profiles: backup }
  all: { profiles: ['*'] }
`;
    expect(parsePolicyFile(text, 'mooring.yaml')).toEqual({
      ok: true,
      stacks: {
        web: { sync: 'auto', selfHeal: false, prune: false, profiles: ['debug', 'tools'] },
        db: { sync: 'manual', selfHeal: false, prune: false, profiles: ['backup'] },
        all: { sync: 'manual', selfHeal: false, prune: false, profiles: ['*'] },
      },
    });
    // A stack without profiles has no such field: its policy compares equal to what it was before.
    expect(parsePolicyFile('stacks:\n  web: { sync: auto }\n', 'mooring.yaml')).toEqual({
      ok: true,
      stacks: { web: { sync: 'auto', selfHeal: false, prune: false } },
    });
  });

  it('reports profiles that are not compose profile names, and unknown keys next to them', () => {
    const text = `stacks:
  web: { profiles: [debug, "-bad"], profile: [x] }
  db: { profiles: { a: 1 } }
`;
    expect(parsePolicyFile(text, 'mooring.yaml')).toEqual({
      ok: false,
      errors: [
        {
          file: 'mooring.yaml',
          line: 2,
          column: 20,
          message:
            'stacks.web.profiles: "-bad" is not a profile name (letters, digits, _ . -, starting with a letter or digit; * for all)',
        },
        {
          file: 'mooring.yaml',
          line: 2,
          column: 37,
          message:
            "stacks.web.profile: unknown key; a stack's policy has sync, selfHeal, prune, profiles, mode and engines",
        },
        { file: 'mooring.yaml', line: 3, column: 19, message: 'stacks.db.profiles must be a string' },
      ],
    });
  });

  it('reports YAML errors and wrong shapes', () => {
    const syntax = parsePolicyFile('stacks:\n  web: {sync: auto\n', 'mooring.yaml');
    expect(syntax.ok).toBe(false);
    expect(!syntax.ok && syntax.errors[0]!.message).toMatch(/^YAML: /);
    expect(parsePolicyFile('stacks: [web]\n', 'mooring.yaml')).toEqual({
      ok: false,
      errors: [{ file: 'mooring.yaml', line: 1, column: 9, message: 'stacks must be a map' }],
    });
    expect(parsePolicyFile('- web\n', 'mooring.yaml')).toEqual({
      ok: false,
      errors: [{ file: 'mooring.yaml', line: 1, column: 1, message: 'mooring.yaml must be a map' }],
    });
  });
});
