// .dockerignore for a build context packed from git objects. The docker CLI applies it when it packs a
// folder (the engine's API never sees the excluded files), so Mooring has to do the same. Semantics of
// moby's patternmatcher: `*` and `?` stay within a path segment, `**` spans segments, `!` re-includes,
// the last matching pattern wins, and a pattern that matches a folder matches everything below it.

interface Rule {
  regex: RegExp;
  include: boolean;
}

export interface DockerIgnore {
  /** Whether a context-relative posix path is left out of the build context. */
  ignores(path: string): boolean;
}

export function parseDockerignore(text: string): DockerIgnore {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const include = line.startsWith('!');
    if (include) line = line.slice(1).trim();
    line = cleanPattern(line);
    if (line === '') continue;
    rules.push({ regex: patternRegex(line), include });
  }
  return {
    ignores(path: string): boolean {
      const segments = path.split('/');
      let ignored = false;
      for (const rule of rules) {
        // The path itself or one of its parent folders.
        for (let i = segments.length; i >= 1; i--) {
          if (rule.regex.test(segments.slice(0, i).join('/'))) {
            ignored = !rule.include;
            break;
          }
        }
      }
      return ignored;
    },
  };
}

/** Like Go's filepath.Clean on a slash path, with the leading slash removed. */
function cleanPattern(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      re += escapeRegex(pattern[i]!);
    } else {
      re += escapeRegex(ch);
    }
  }
  return new RegExp(`^${re}$`);
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}
