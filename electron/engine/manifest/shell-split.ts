// Splits a `command:`/`entrypoint:` string into words the way compose does (POSIX shell quoting, no
// expansion): the container runs the words directly, not through a shell.

export type SplitResult = { ok: true; words: string[] } | { ok: false; error: string };

export function shellSplit(text: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: 'has an unclosed single quote' };
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        // Inside double quotes a backslash escapes only the characters the shell treats specially.
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`\n'.includes(text[j + 1]!)) j++;
        word += text[j]!;
      }
      if (j >= text.length) return { ok: false, error: 'has an unclosed double quote' };
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i]!;
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
