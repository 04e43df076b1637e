// Rewrites one service's `image:` in a compose file and leaves every other byte as it was: comments, key
// order, blank lines, line endings and the value's own quoting. The `yaml` package gives each node its
// source range, so the change is a splice of that one scalar, never a re-serialization of the document.
import { isAlias, isMap, isScalar, parseDocument, visit } from 'yaml';
import type { Node, Pair, Scalar, YAMLMap } from 'yaml';
import { MooringError } from '../errors.ts';
import { imageRefProblem } from '../manifest/image-ref.ts';

export interface ImageEdit {
  /** The whole file after the change (the same text when nothing changed). */
  text: string;
  /** The image the file named before. */
  oldImage: string;
  newImage: string;
  /** 1-based line of the value. */
  line: number;
  changed: boolean;
}

/** Whether `image` is an image reference the engine accepts (and so nothing that could end a YAML scalar). */
export function isImageRef(image: string): boolean {
  return imageRefProblem(image) === null;
}

/** The image a service names in a compose file, read the way rewriteServiceImage finds it. */
export function readServiceImage(text: string, file: string, service: string): string {
  return findImage(text, file, service).scalar.value as string;
}

export function rewriteServiceImage(text: string, file: string, service: string, image: string): ImageEdit {
  if (!isImageRef(image)) {
    throw new MooringError(
      'usage',
      `"${image}" is not an image reference (like registry.example/app:1.2 or app@sha256:…).`,
    );
  }
  const { scalar, doc } = findImage(text, file, service);
  const oldImage = scalar.value as string;
  const [start, end] = scalar.range!;
  const line = lineOf(text, start);
  if (oldImage === image) return { text, oldImage, newImage: image, line, changed: false };
  const anchor = scalar.anchor;
  if (anchor !== undefined) {
    let reused = false;
    visit(doc, {
      Alias(_, alias) {
        if (alias.source === anchor) reused = true;
      },
    });
    if (reused) {
      throw new MooringError(
        'conflict',
        `${file}:${line}: the image of service "${service}" is anchored (&${anchor}) and reused elsewhere, so changing it would change the others too. Give the service its own image: line.`,
      );
    }
  }
  const candidates: string[] = [];
  if (scalar.type === 'PLAIN') candidates.push(image);
  if (scalar.type === 'QUOTE_SINGLE') candidates.push(`'${image.replace(/'/g, "''")}'`);
  // Double quotes are the fallback for a plain value that would not read back as the same string.
  candidates.push(JSON.stringify(image));
  for (const replacement of candidates) {
    const next = text.slice(0, start) + replacement + text.slice(end);
    let check: string | null;
    try {
      check = readServiceImage(next, file, service);
    } catch {
      check = null;
    }
    if (check === image) return { text: next, oldImage, newImage: image, line, changed: true };
  }
  throw new MooringError(
    'failed',
    `${file}:${line}: could not write image "${image}" for service "${service}" without changing the meaning of the file.`,
  );
}

function findImage(
  text: string,
  file: string,
  service: string,
): { scalar: Scalar; doc: ReturnType<typeof parseDocument> } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new MooringError(
      'manifest',
      `${file}:${lineOf(text, first.pos[0])}: the compose file is not valid YAML (${first.message.split('\n')[0]}); fix it in git first.`,
    );
  }
  const root = doc.contents;
  const services = isMap(root) ? pairOf(root, 'services') : undefined;
  if (!services || !isMap(services.value)) {
    throw new MooringError('not-found', `${file} has no \`services:\` map.`);
  }
  const servicesMap = services.value;
  const entry = pairOf(servicesMap, service);
  if (!entry) {
    const names = servicesMap.items.map((p) => keyText(p.key)).filter((k): k is string => k !== null);
    throw new MooringError(
      'not-found',
      `Service "${service}" is not in ${file}; its services are: ${names.join(', ') || 'none'}.`,
    );
  }
  const value = entry.value as Node | null;
  if (!isMap(value)) {
    throw new MooringError(
      'not-found',
      `Service "${service}" in ${file} is not a map, so it has no image: key.`,
    );
  }
  const imagePair = pairOf(value, 'image');
  if (!imagePair) {
    const merged = value.items.some((p) => keyText(p.key) === '<<');
    throw new MooringError(
      'not-found',
      merged
        ? `Service "${service}" in ${file} takes its image from a merge key (<<); give the service its own image: line to promote it.`
        : `Service "${service}" in ${file} has no image: line to rewrite.`,
    );
  }
  const node = imagePair.value as Node | null;
  const line = lineOf(text, node?.range?.[0] ?? (imagePair.key as Node | null)?.range?.[0] ?? 0);
  if (isAlias(node)) {
    throw new MooringError(
      'conflict',
      `${file}:${line}: the image of service "${service}" is an alias (*${node.source}); give the service its own image: line to promote it.`,
    );
  }
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    throw new MooringError('manifest', `${file}:${line}: the image of service "${service}" is not a string.`);
  }
  if (node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') {
    throw new MooringError(
      'conflict',
      `${file}:${line}: the image of service "${service}" is a block scalar (| or >); write it on one line to promote it.`,
    );
  }
  if (node.value.includes('$')) {
    throw new MooringError(
      'conflict',
      `${file}:${line}: the image of service "${service}" is interpolated ("${node.value}"); promote writes a literal image, so change the variable in the stack's .env instead, or write the image literally.`,
    );
  }
  return { scalar: node, doc };
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => keyText(p.key) === key);
}

function keyText(key: unknown): string | null {
  if (!isScalar(key)) return null;
  const v = key.value;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
