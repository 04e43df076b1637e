// Credentials written into a source URL (`http://user:TOKEN@host/repo.git`) are kept out of Mooring's
// files and output (issue 10, item 5): the history database is a plain file that backups, sync tools
// and support bundles copy, and `source list --json` ends up in CI logs. Every door a URL comes in by
// (CLI, desktop, browser mode, the engine itself) uses these helpers, so they agree on what counts.

/** A URL split into its credentials and the URL without them. */
export interface UrlUserinfo {
  /** The URL without `userinfo@` (as the URL parser spells it, when it can parse it). */
  url: string;
  /** The secret to keep elsewhere: the password, else the user name (`https://TOKEN@host` is common). */
  secret: string;
}

// Special schemes (WHATWG URL) accept `http:user:pw@host` and backslashes for slashes; other schemes
// need `//`. The authority ends at the first / \ ? #, and its userinfo runs to the last @ before that.
const SPECIAL = /^(?:https?|wss?|ftp|file):[\\/\t\n\r]*([^/\\?#]*)@/i;
const OTHER = /^[a-z][a-z0-9+.-]*:\/\/([^/\\?#]*)@/i;

/**
 * The credentials in `raw` and the URL without them, or null when it has none. Looks at the text as
 * typed as well as at what `new URL` makes of it, so that a URL the parser rejects (and that would
 * otherwise be echoed in a "not a valid URL" message) is caught too.
 */
export function splitUserinfo(raw: string): UrlUserinfo | null {
  let parsed: URL | null = null;
  try {
    parsed = new URL(raw);
  } catch {
    // Not a URL to WHATWG: the patterns below still see `scheme://user:pw@`.
  }
  // The URL parser skips leading spaces and control characters; so do the patterns.
  let lead = 0;
  while (lead < raw.length && raw.charCodeAt(lead) <= 0x20) lead++;
  const rest = raw.slice(lead);
  const match = SPECIAL.exec(rest) ?? OTHER.exec(rest);
  const parsedHas = parsed !== null && (parsed.username !== '' || parsed.password !== '');
  if (!match && !parsedHas) return null;
  let secret: string;
  let url: string;
  if (parsedHas) {
    secret = decode(parsed!.password || parsed!.username);
    // The parser's spelling (`http:user:pw@h` and `HTTP:\\h` become `http://h`): what Mooring accepts.
    parsed!.username = '';
    parsed!.password = '';
    url = parsed!.href;
  } else {
    const userinfo = match![1]!;
    const colon = userinfo.indexOf(':');
    secret = decode(colon === -1 ? userinfo : userinfo.slice(colon + 1) || userinfo.slice(0, colon));
    url = rest.slice(0, match![0].length - userinfo.length - 1) + rest.slice(match![0].length);
  }
  return { url, secret };
}

/** `raw` without credentials; unchanged when it has none. */
export function withoutUserinfo(raw: string): string {
  return splitUserinfo(raw)?.url ?? raw;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The environment variable a source's token is kept in when Mooring chooses the name (the desktop
 * app's secret store, and the name suggested to CLI users).
 */
export function tokenEnvName(source: string): string {
  return `MOORING_TOKEN_${source.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** A shell word: quoted only when it has to be, so the command can be pasted as shown. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to run instead of adding a source whose URL holds credentials: the same command with the URL
 * cleaned and the token named by --token-env. Never holds the secret itself.
 */
export function credentialsInUrlMessage(input: {
  name: string;
  /** The URL already without credentials. */
  url: string;
  branch?: string | null | undefined;
  path?: string | null | undefined;
  home?: string | undefined;
}): string {
  const variable = tokenEnvName(input.name);
  const words = [
    'mooring',
    ...(input.home ? ['--home', input.home] : []),
    'source',
    'add',
    input.name,
    input.url,
    ...(input.branch ? ['--branch', input.branch] : []),
    ...(input.path ? ['--path', input.path] : []),
    '--token-env',
    variable,
  ];
  return [
    'The URL holds a user name or password. Mooring does not keep credentials in its files, so the source was not added.',
    `Put the token in an environment variable and name it with --token-env instead:`,
    '',
    `  export ${variable}=...   # the token or password`,
    `  ${words.map(shellWord).join(' ')}`,
  ].join('\n');
}

/**
 * Names that look like an access token rather than a variable holding one (`--token-env ghp_…`):
 * storing them would put the token in the database and in every "variable X is not set" message.
 */
const TOKEN_LIKE = /^(?:gh[pousr]_|github_pat_|glpat-|glptt-|xox[abpr]-|AKIA)/;

/** Refusal text for a --token-env value that is not an environment variable name, or null when it is one. */
export function tokenEnvProblem(name: string): string | null {
  if (TOKEN_LIKE.test(name))
    return 'The --token-env value looks like a token itself: give the NAME of an environment variable that holds the token (e.g. --token-env MY_TOKEN), never the token.';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name))
    return 'The --token-env value is not an environment variable name (letters, digits and _, not starting with a digit): give the NAME of a variable that holds the token, never the token.';
  return null;
}
