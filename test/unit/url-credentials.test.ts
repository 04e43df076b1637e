// What counts as credentials in a source URL (issue 10, item 5): every spelling a URL parser or git
// would take as `user:password@`, and nothing that is a plain URL or a local path.
import { describe, expect, it } from 'vitest';
import {
  credentialsInUrlMessage,
  splitUserinfo,
  tokenEnvProblem,
  withoutUserinfo,
} from '../../electron/engine/source/url-credentials.ts';

describe('splitUserinfo', () => {
  it.each([
    ['http://user:TOKEN@host/repo.git', 'http://host/repo.git', 'TOKEN'],
    ['https://TOKEN@host:8443/a/b.git', 'https://host:8443/a/b.git', 'TOKEN'],
    ['https://user:@host/r.git', 'https://host/r.git', 'user'],
    ['http://u:p%40ss%3Aword@host/r.git', 'http://host/r.git', 'p@ss:word'],
    ['http://u:p@ss@host/r.git', 'http://host/r.git', 'p@ss'],
    ['http:u:TOKEN@host/r.git', 'http://host/r.git', 'TOKEN'],
    ['HTTP:\\\\u:TOKEN@Host\\r.git', 'http://host/r.git', 'TOKEN'],
    ['  http://u:TOKEN@host/r.git', 'http://host/r.git', 'TOKEN'],
    ['http://u:TOKEN@[::1/r.git', 'http://[::1/r.git', 'TOKEN'],
    ['ftp://u:TOKEN@host/r', 'ftp://host/r', 'TOKEN'],
    ['git+http://u:TOKEN@host/r', 'git+http://host/r', 'TOKEN'],
  ])('%s', (raw, url, secret) => {
    expect(splitUserinfo(raw)).toEqual({ url, secret });
    expect(withoutUserinfo(raw)).toBe(url);
  });

  it.each([
    'http://host/repo.git',
    'https://host/a@b/repo.git',
    'http://host/r.git?who=a@b',
    '/srv/repos/team@2/cfg',
    './cfg@v2',
    'C:\\Users\\me@corp\\cfg',
    'git@github.com:a/b.git',
  ])('%s has none', (raw) => {
    expect(splitUserinfo(raw)).toBeNull();
    expect(withoutUserinfo(raw)).toBe(raw);
  });
});

describe('credentialsInUrlMessage', () => {
  it('is a command to paste, quoted for the shell where needed, without the secret', () => {
    const text = credentialsInUrlMessage({
      name: 'cfg',
      url: 'http://host/repo.git',
      branch: 'main',
      path: 'my stacks',
      home: '/tmp/h',
    });
    expect(text).toContain(
      "mooring --home /tmp/h source add cfg http://host/repo.git --branch main --path 'my stacks' --token-env MOORING_TOKEN_CFG",
    );
  });
});

describe('tokenEnvProblem', () => {
  it('takes variable names and refuses tokens given in their place', () => {
    expect(tokenEnvProblem('CFG_TOKEN')).toBeNull();
    expect(tokenEnvProblem('ghp_0123456789abcdef')).toContain('looks like a token');
    expect(tokenEnvProblem('glpat-abc')).toContain('looks like a token');
    expect(tokenEnvProblem('abc/def+==')).toContain('not an environment variable name');
    expect(tokenEnvProblem('abc/def+==')).not.toContain('abc/def');
  });
});
