// An image reference as the engine parses it (the grammar of distribution/reference, which compose and
// the Docker CLI use): `[domain[:port]/]path[:tag][@algorithm:hex]`, the path in lower case. A value the
// engine would refuse at create time ("invalid reference format") is refused when the stack loads, at
// its line and column, instead of failing half way through an apply.
//
// Each part is matched by a pattern without nested ambiguity (a separator is never empty), so a long
// hostile value is rejected in linear time.

const DOMAIN_PART = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = `${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?`;
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^(?:${DOMAIN}/)?${PATH_PART}(?:/${PATH_PART})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** The longest name the engine accepts (distribution's NameTotalLengthMax). */
const MAX_NAME = 255;

/** Why `ref` is not an image reference the engine accepts, or null when it is one. */
export function imageRefProblem(ref: string): string | null {
  if (ref === '') return 'it is empty';
  if (ref.length > 1024) return 'it is longer than any image reference';
  let rest = ref;
  const at = rest.indexOf('@');
  if (at !== -1) {
    if (!DIGEST.test(rest.slice(at + 1))) return `"${rest.slice(at + 1)}" is not a digest (like sha256:…)`;
    rest = rest.slice(0, at);
  }
  // A tag follows the last colon that comes after the last slash (a colon before it is a registry port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    const tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) {
      return tag === '' ? 'the tag after ":" is empty' : `"${tag}" is not a tag (letters, digits, _ . -)`;
    }
    rest = rest.slice(0, colon);
  }
  if (rest.length > MAX_NAME) return `the name is longer than ${MAX_NAME} characters`;
  if (!NAME.test(rest)) {
    return NAME.test(lowerPath(rest))
      ? 'the repository name must be lower case'
      : `"${rest}" is not a repository name (like registry.example:5000/team/app)`;
  }
  return null;
}

/** `rest` with everything after the domain in lower case, to tell a case problem from a shape one. */
function lowerPath(rest: string): string {
  const slash = rest.indexOf('/');
  return slash === -1 ? rest.toLowerCase() : rest.slice(0, slash + 1) + rest.slice(slash + 1).toLowerCase();
}
