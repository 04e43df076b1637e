import { describe, expect, it } from 'vitest';
import { imageRefProblem } from '../../electron/engine/manifest/image-ref.ts';

describe('image references, as the engine parses them', () => {
  it('accepts the forms compose files use', () => {
    for (const ref of [
      'nginx',
      'nginx:1.27-alpine',
      'library/postgres:16',
      'ghcr.io/linuxserver/jellyfin:latest',
      'localhost:5000/team/app',
      'registry.example:5000/a/b_c/d__e/f-g:1.2',
      'app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'docker.io/my.org/app:v1.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'Registry.Example/app',
    ]) {
      expect(imageRefProblem(ref), ref).toBeNull();
    }
  });

  it('refuses what the engine calls an invalid reference format, saying why', () => {
    expect(imageRefProblem('local/busybox:')).toBe('the tag after ":" is empty');
    expect(imageRefProblem('Nginx')).toBe('the repository name must be lower case');
    expect(imageRefProblem('a b')).toMatch(/not a repository name/);
    expect(imageRefProblem('app@sha256:12')).toMatch(/not a digest/);
    expect(imageRefProblem('app:-x')).toMatch(/not a tag/);
    expect(imageRefProblem('a//b')).toMatch(/not a repository name/);
    expect(imageRefProblem('a-')).toMatch(/not a repository name/);
    expect(imageRefProblem('')).toBe('it is empty');
    expect(imageRefProblem(`a/${'b'.repeat(300)}`)).toMatch(/longer than 255/);
  });

  // An exponential pattern would run past the test's timeout on these.
  it('rejects long hostile values without a backtracking blow-up', () => {
    expect(imageRefProblem(`${'a-'.repeat(400)}!`)).not.toBeNull();
    expect(imageRefProblem(`${'a.'.repeat(100)}:5000/${'b__'.repeat(80)}`)).not.toBeNull();
  });
});
