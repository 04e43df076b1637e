// An engine that speaks an older Docker Engine API than Mooring drives (issue 15: "engine API too old"
// gets a clear error that names the engine and what to do). No such Docker runs on these machines
// (they have Docker 20.10, API 1.41, the oldest Mooring drives), so a loopback HTTP server stands in for
// one, answering as Docker 19.03.15 does (API 1.40): `/_ping` with OK, `/version` and `/info` with the
// fields Docker's API reference gives them. It records every request: nothing but those questions may
// reach it.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEngines } from '../../electron/cli/format.ts';
import { apiOlderThan } from '../../electron/engine/docker/docker-adapter.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const VERSION = {
  Version: '19.03.15',
  ApiVersion: '1.40',
  MinAPIVersion: '1.12',
  Os: 'linux',
  Arch: 'amd64',
};
const INFO = { ID: 'OLDD:AEMO:N000', ServerVersion: '19.03.15', Swarm: { LocalNodeState: 'inactive' } };

describe('an engine older than Mooring drives', () => {
  let server: http.Server;
  let endpoint: string;
  const asked: string[] = [];
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      const url = (req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
      const reply = url === '/version' ? VERSION : url === '/info' ? INFO : null;
      if (url === '/_ping') {
        res.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.40' }).end('OK');
      } else if (reply) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-oldengine-'));
    repo = await createLocalRepo({
      'web/compose.yaml': 'services:\n  app:\n    image: local/busybox:1\n',
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('compares API versions as numbers', () => {
    expect(apiOlderThan('1.40', '1.41')).toBe(true);
    expect(apiOlderThan('1.9', '1.41')).toBe(true);
    expect(apiOlderThan('1.41', '1.41')).toBe(false);
    expect(apiOlderThan('1.100', '1.41')).toBe(false);
    expect(apiOlderThan('2.0', '1.41')).toBe(false);
    // One it cannot read is not refused for its version.
    expect(apiOlderThan('', '1.41')).toBe(false);
  });

  it('is not added, with its version and what to do', async () => {
    const engine = await Engine.open({ home });
    try {
      const probe = await engine.engines.probe('old', { endpoint });
      expect(probe).toMatchObject({ reachable: false, apiVersion: '1.40' });
      await expect(engine.engines.add('old', { endpoint })).rejects.toThrow(
        `Engine old (${endpoint}) speaks Docker API 1.40, older than 1.41 (Docker 20.10), the oldest Mooring drives: upgrade Docker there. Nothing was added.`,
      );
      expect(engine.engines.list().map((e) => e.name)).not.toContain('old');
      // `engine list` shows the version it speaks beside the reason.
      const listed = formatEngines([probe]);
      expect(listed).toMatch(/^old +tcp:\/\/127\.0\.0\.1:\d+ +tcp +no +\(API 1\.40\)/m);
      expect(listed).toContain(`old: Engine old (${endpoint}) speaks API 1.40`);
    } finally {
      engine.close();
    }
  });

  it('makes its stacks Unknown, saying why, and syncs nothing into it', async () => {
    const engine = await Engine.open({ home, dockerHost: endpoint });
    try {
      await engine.addSource({ name: 'cfg', url: repo.path });
      asked.length = 0;
      const [web] = await engine.status({ recordDrift: false });
      expect(web?.sync).toBe('Unknown');
      expect(web?.warnings.join(' ')).toContain(
        `Docker engine at ${endpoint} speaks API 1.40, older than 1.41`,
      );
      await expect(engine.sync({ stacks: ['web'] })).rejects.toThrow('upgrade Docker there');
      // It was asked who it is, and nothing else: no container was listed, pulled or made.
      expect(asked.every((r) => /^GET \/(v[\d.]+\/)?(_ping|version|info)\b/.test(r))).toBe(true);
    } finally {
      engine.close();
    }
  });
});
