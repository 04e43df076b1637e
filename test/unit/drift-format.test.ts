// The drift view's formatting (issue 13, item 7): commands as a shell shows them, lists one item per
// line, and the words that differ marked on each side.
import { describe, expect, it } from 'vitest';
import { prettyValue, shellJoin, wordDiff } from '../../renderer/src/drift-format.ts';

describe('prettyValue', () => {
  it('a command or entrypoint as one shell-like line, quoted only where needed', () => {
    expect(prettyValue('command', '["sh","-c","echo it\'s up; sleep 5"]')).toBe(
      `sh -c 'echo it'\\''s up; sleep 5'`,
    );
    expect(prettyValue('entrypoint', '["/bin/app","--port=80"]')).toBe('/bin/app --port=80');
    expect(prettyValue('command', 'null')).toBe('null');
  });

  it('other lists one item per line; a healthcheck one key per line', () => {
    expect(prettyValue('ports', '127.0.0.1:80:80/tcp, 127.0.0.1:443:443/tcp')).toBe(
      '127.0.0.1:80:80/tcp\n127.0.0.1:443:443/tcp',
    );
    expect(prettyValue('labels.x', '["a","b"]')).toBe('a\nb');
    expect(prettyValue('healthcheck', '{"test":["CMD-SHELL","curl -f http://x/"],"interval":5}')).toBe(
      "test: CMD-SHELL 'curl -f http://x/'\ninterval: 5",
    );
  });

  it('leaves other values alone, an environment value with a comma too', () => {
    expect(prettyValue('environment.HOSTS', 'a, b')).toBe('a, b');
    expect(prettyValue('image', 'nginx:1.27')).toBe('nginx:1.27');
    expect(prettyValue('image', null)).toBeNull();
    expect(prettyValue('command', '[not json')).toBe('[not json');
  });

  it('shellJoin quotes empty and special arguments', () => {
    expect(shellJoin(['echo', '', 'a b', '$HOME'])).toBe(`echo '' 'a b' '$HOME'`);
  });
});

describe('wordDiff', () => {
  it('marks only the word that changed, on each side', () => {
    const d = wordDiff('sh -c \'echo "level=info msg=started"\'', 'sh -c \'echo "level=info msg=ready"\'');
    expect(d.desired.filter((s) => s.changed).map((s) => s.text)).toEqual(['started']);
    expect(d.live.filter((s) => s.changed).map((s) => s.text)).toEqual(['ready']);
    expect(d.desired.map((s) => s.text).join('')).toBe('sh -c \'echo "level=info msg=started"\'');
  });

  it('keeps line breaks of pretty values and marks an added line', () => {
    const d = wordDiff('80:80\n443:443', '80:80\n443:443\n8080:80');
    expect(d.desired.every((s) => !s.changed)).toBe(true);
    expect(d.live.map((s) => s.text).join('')).toBe('80:80\n443:443\n8080:80');
    expect(d.live.filter((s) => s.changed).map((s) => s.text.trim())).toEqual(['8080:80']);
  });

  it('nothing marked when equal', () => {
    const d = wordDiff('a b', 'a b');
    expect(d.desired).toEqual([{ text: 'a b', changed: false }]);
  });
});
