// Signed commits (issue 17, item 3): a source may require that the commit it deploys is signed by a key
// the person allowed. Verified in process, with no gpg or ssh-keygen needed: SSH signatures (git's
// `gpg.format=ssh`, OpenSSH's SSHSIG format, keys from an allowed_signers file) with node:crypto, and
// OpenPGP signatures (keys from an armored keyring) with openpgp.js, loaded only when a source asks.
import { createHash, createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import type { CommitVerify } from '../../shared/model.ts';
import { MooringError, errorMessage } from '../errors.ts';

/** What a commit's signature proved: `signer` is who signed it as found (verified or not), or null. */
export interface Verification {
  verified: boolean;
  signer: string | null;
  /** Why it is not verified (empty when it is). */
  why: string;
}

// ── SSH ─────────────────────────────────────────────────────────────────────────────────────────────

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
]);

interface AllowedSigner {
  principals: string;
  namespaces: string[] | null;
  validAfter: number | null;
  validBefore: number | null;
  /** The public key in SSH wire format. */
  blob: Buffer;
  key: KeyObject;
  type: string;
}

/**
 * An allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS): `principals [options] keytype key [comment]`
 * per line. Options understood: namespaces, valid-after, valid-before; cert-authority and any other is
 * refused, so that nothing is allowed by a line read differently from what its author meant.
 */
export function parseAllowedSigners(text: string, file = 'allowed signers'): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}:${i + 1}`;
    const words = splitWords(line);
    const principals = words.shift()!;
    let options: string | null = null;
    // A key type starts like one (ssh-dss too, to be refused by name); anything else is options.
    if (words[0] !== undefined && !/^(ssh-|ecdsa-|sk-)/.test(words[0])) options = words.shift()!;
    const [type, data] = words;
    if (!type || !data)
      throw new MooringError('usage', `${at}: expected "principals [options] keytype key".`);
    if (!KEY_TYPES.has(type)) {
      throw new MooringError(
        'usage',
        `${at}: key type ${type} is not supported (ssh-ed25519, ssh-rsa and ecdsa-sha2-nistp256/384/521 are).`,
      );
    }
    const blob = Buffer.from(data, 'base64');
    let key: KeyObject;
    try {
      const parsed = sshPublicKey(blob);
      if (parsed.type !== type) throw new Error(`the key is ${parsed.type}, the line says ${type}`);
      key = parsed.key;
    } catch (err) {
      throw new MooringError('usage', `${at}: the key cannot be read: ${errorMessage(err)}.`);
    }
    const signer: AllowedSigner = {
      principals,
      namespaces: null,
      validAfter: null,
      validBefore: null,
      blob,
      key,
      type,
    };
    for (const opt of options ? splitOptions(options) : []) {
      const [name, value] = [
        opt.slice(0, opt.indexOf('=') >>> 0),
        opt.slice(opt.indexOf('=') + 1).replace(/^"|"$/g, ''),
      ];
      const option = opt.includes('=') ? name.toLowerCase() : opt.toLowerCase();
      if (option === 'namespaces') signer.namespaces = value.split(',');
      else if (option === 'valid-after') signer.validAfter = sshTime(value, at);
      else if (option === 'valid-before') signer.validBefore = sshTime(value, at);
      else {
        throw new MooringError(
          'usage',
          `${at}: option "${option}" is not supported${option === 'cert-authority' ? ' (list the signers’ own keys)' : ''}.`,
        );
      }
    }
    out.push(signer);
  });
  if (out.length === 0)
    throw new MooringError('usage', `${file} lists no key: nothing could ever be verified.`);
  return out;
}

/** Whitespace-separated words, where a double-quoted part (with spaces or commas) stays whole. */
function splitWords(line: string): string[] {
  return line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
}

function splitOptions(options: string): string[] {
  return options.match(/(?:[^,"]+|"[^"]*")+/g) ?? [];
}

/** YYYYMMDD[HHMM[SS]][Z]: UTC with Z, local time without, as ssh-keygen reads it. */
function sshTime(value: string, at: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(value);
  if (!m) throw new MooringError('usage', `${at}: "${value}" is not a time (YYYYMMDD[HHMM[SS]][Z]).`);
  const n = (i: number): number => Number(m[i] ?? 0);
  const parts = [n(1), n(2) - 1, n(3), n(4), n(5), n(6)] as const;
  return m[7] ? Date.UTC(...parts) : new Date(...parts).getTime();
}

/** Reads SSH wire-format strings (uint32 length, then bytes). */
class Wire {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(): Buffer {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const n = this.buf.readUInt32BE(this.at);
    if (this.at + 4 + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at + 4, this.at + 4 + n);
    this.at += 4 + n;
    return out;
  }
  text(): string {
    return this.bytes().toString('latin1');
  }
  uint32(): number {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const n = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }
  raw(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

const b64url = (b: Buffer): string => b.toString('base64url');
/** An mpint without its sign byte, left-padded to `size` bytes when given. */
function unsigned(b: Buffer, size?: number): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const out = b.subarray(i);
  return size && out.length < size ? Buffer.concat([Buffer.alloc(size - out.length), out]) : out;
}

const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

function sshPublicKey(blob: Buffer): { type: string; key: KeyObject } {
  const w = new Wire(blob);
  const type = w.text();
  let jwk: Record<string, string>;
  if (type === 'ssh-ed25519') {
    const pk = w.bytes();
    if (pk.length !== 32) throw new Error('an ed25519 key is 32 bytes');
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) };
  } else if (type === 'ssh-rsa') {
    const e = unsigned(w.bytes());
    const n = unsigned(w.bytes());
    if (n.length * 8 < 2048) throw new Error('an RSA key shorter than 2048 bits is refused');
    jwk = { kty: 'RSA', e: b64url(e), n: b64url(n) };
  } else if (type.startsWith('ecdsa-sha2-')) {
    const curve = CURVES[w.text()];
    const q = w.bytes();
    if (!curve || q[0] !== 4 || q.length !== 1 + 2 * curve.size) throw new Error('an unknown curve or point');
    jwk = {
      kty: 'EC',
      crv: curve.crv,
      x: b64url(q.subarray(1, 1 + curve.size)),
      y: b64url(q.subarray(1 + curve.size)),
    };
  } else {
    throw new Error(`key type ${type} is not supported`);
  }
  if (!w.done) throw new Error('trailing bytes after the key');
  return { type, key: createPublicKey({ key: jwk, format: 'jwk' }) };
}

/** The key's fingerprint as ssh-keygen prints it. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const SSHSIG = Buffer.from('SSHSIG');

function wireString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function verifySsh(
  signers: AllowedSigner[],
  armored: string,
  payload: Buffer,
  commitTime: number,
): Verification {
  const m = /^-----BEGIN SSH SIGNATURE-----\r?\n([\s\S]*?)\r?\n-----END SSH SIGNATURE-----\s*$/.exec(
    armored.trim(),
  );
  if (!m)
    return { verified: false, signer: null, why: 'the commit is signed, but not with an SSH signature' };
  let publicKey: Buffer, namespace: string, reserved: Buffer, hashAlg: string, sigType: string, sig: Buffer;
  try {
    const w = new Wire(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
    if (!w.raw(6).equals(SSHSIG) || w.uint32() !== 1) throw new Error('not an SSHSIG version 1 signature');
    publicKey = w.bytes();
    namespace = w.text();
    reserved = w.bytes();
    hashAlg = w.text();
    const inner = new Wire(w.bytes());
    if (!w.done) throw new Error('trailing bytes');
    sigType = inner.text();
    sig = inner.bytes();
    if (!inner.done) throw new Error(`signature type ${sigType} is not supported`);
  } catch (err) {
    return { verified: false, signer: null, why: `the SSH signature cannot be read: ${errorMessage(err)}` };
  }
  const fingerprint = sshFingerprint(publicKey);
  const allowed = signers.filter((s) => s.blob.equals(publicKey));
  if (allowed.length === 0) {
    return {
      verified: false,
      signer: `key ${fingerprint}`,
      why: `key ${fingerprint} is not an allowed signer`,
    };
  }
  const signer = `${allowed.map((s) => s.principals).join(', ')} (${allowed[0]!.type} ${fingerprint})`;
  const fail = (why: string): Verification => ({ verified: false, signer, why });
  if (namespace !== 'git') return fail(`the signature is for "${namespace}", not for git commits`);
  if (hashAlg !== 'sha256' && hashAlg !== 'sha512') return fail(`hash ${hashAlg} is not allowed`);
  const usable = allowed.filter(
    (s) =>
      (s.namespaces === null || s.namespaces.some((n) => n === 'git' || n === '*')) &&
      (s.validAfter === null || commitTime >= s.validAfter) &&
      (s.validBefore === null || commitTime <= s.validBefore),
  );
  if (usable.length === 0) return fail('the key is not allowed for git commits at the time of this commit');
  const data = Buffer.concat([
    SSHSIG,
    wireString('git'),
    wireString(reserved),
    wireString(hashAlg),
    wireString(createHash(hashAlg).update(payload).digest()),
  ]);
  const s = usable[0]!;
  const check = (): boolean => {
    if (s.type === 'ssh-ed25519') return sigType === 'ssh-ed25519' && cryptoVerify(null, data, s.key, sig);
    if (s.type === 'ssh-rsa') {
      // SSHSIG forbids SHA-1 (plain ssh-rsa signatures).
      const hash = sigType === 'rsa-sha2-512' ? 'sha512' : sigType === 'rsa-sha2-256' ? 'sha256' : null;
      return (
        hash !== null && cryptoVerify(hash, data, { key: s.key, padding: constants.RSA_PKCS1_PADDING }, sig)
      );
    }
    const curve = CURVES[s.type.slice('ecdsa-sha2-'.length)]!;
    const rs = new Wire(sig);
    const p1363 = Buffer.concat([unsigned(rs.bytes(), curve.size), unsigned(rs.bytes(), curve.size)]);
    return (
      sigType === s.type && cryptoVerify(curve.hash, data, { key: s.key, dsaEncoding: 'ieee-p1363' }, p1363)
    );
  };
  let ok: boolean;
  try {
    ok = check();
  } catch {
    ok = false;
  }
  return ok
    ? { verified: true, signer, why: '' }
    : fail(`the ${sigType} signature does not match the commit`);
}

// ── OpenPGP ────────────────────────────────────────────────────────────────────────────────────────

/** Checks an armored keyring names at least one public key; returns a line per key for people. */
export async function parseKeyring(text: string, file = 'keyring'): Promise<string[]> {
  const openpgp = await import('openpgp');
  let keys;
  try {
    keys = await openpgp.readKeys({ armoredKeys: text });
  } catch (err) {
    throw new MooringError(
      'usage',
      `${file} is not an armored OpenPGP keyring (gpg --export --armor): ${errorMessage(err)}`,
    );
  }
  if (keys.some((k) => k.isPrivate())) {
    throw new MooringError(
      'usage',
      `${file} holds a private key: give the public keys only (gpg --export --armor).`,
    );
  }
  return keys.map((k) => `${k.getUserIDs()[0] ?? '(no user id)'} ${k.getFingerprint().toUpperCase()}`);
}

async function verifyOpenpgp(keyring: string, armored: string, payload: Buffer): Promise<Verification> {
  if (!armored.includes('-----BEGIN PGP SIGNATURE-----')) {
    return { verified: false, signer: null, why: 'the commit is signed, but not with an OpenPGP signature' };
  }
  const openpgp = await import('openpgp');
  const keys = await openpgp.readKeys({ armoredKeys: keyring });
  let signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: armored });
  } catch (err) {
    return {
      verified: false,
      signer: null,
      why: `the OpenPGP signature cannot be read: ${errorMessage(err)}`,
    };
  }
  const issuers = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const key = keys.find((k) => k.getKeyIDs().some((id) => issuers.includes(id.toHex().toUpperCase())));
  if (!key) {
    const signer = issuers.length ? `key ${issuers.join(', ')}` : null;
    return { verified: false, signer, why: `${signer ?? 'the signing key'} is not in the keyring` };
  }
  const signer = `${key.getUserIDs()[0] ?? '(no user id)'} (OpenPGP ${key.getFingerprint().toUpperCase()})`;
  try {
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: payload }),
      signature,
      verificationKeys: [key.toPublic()],
      format: 'binary',
    });
    await result.signatures[0]!.verified;
    return { verified: true, signer, why: '' };
  } catch (err) {
    return { verified: false, signer, why: `the signature does not verify: ${errorMessage(err)}` };
  }
}

/** One line per key a policy allows, for people: who, and the key's fingerprint. Throws on bad keys. */
export async function describeKeys(policy: CommitVerify, file?: string): Promise<string[]> {
  if (policy.format === 'openpgp') return parseKeyring(policy.keys, file);
  return parseAllowedSigners(policy.keys, file).map(
    (s) => `${s.principals} (${s.type} ${sshFingerprint(s.blob)})`,
  );
}

// ── a commit ───────────────────────────────────────────────────────────────────────────────────────

/** Parsed allowed signers per text: a source's keys are read once, not at every look. */
const sshSigners = new Map<string, AllowedSigner[]>();

/**
 * A raw commit object split as git splits it to verify it: the `gpgsig` header's value (continuation
 * lines unfolded) and the object without that header, which is what was signed; plus the committer's
 * time in ms. Only the header section counts: "gpgsig" in the message is text. Two gpgsig headers make
 * the commit unverifiable (which one was meant is not for Mooring to pick).
 */
export function splitSignedCommit(raw: Buffer): {
  signature: string | null;
  payload: Buffer;
  committerTime: number;
} {
  const end = raw.indexOf('\n\n');
  const headerEnd = end < 0 ? raw.length : end + 1;
  const lines = raw.subarray(0, headerEnd).toString('latin1').split('\n').slice(0, -1);
  const kept: string[] = [];
  const signatures: string[][] = [];
  let inSig = false;
  let committerTime = 0;
  for (const line of lines) {
    if (inSig && line.startsWith(' ')) {
      signatures.at(-1)!.push(line.slice(1));
      continue;
    }
    inSig = line.startsWith('gpgsig ');
    if (inSig) signatures.push([line.slice('gpgsig '.length)]);
    else {
      kept.push(line);
      const m = /^committer .* (\d+) [+-]\d{4}$/.exec(line);
      if (m) committerTime = Number(m[1]) * 1000;
    }
  }
  const payload = Buffer.concat([
    Buffer.from(kept.map((l) => `${l}\n`).join(''), 'latin1'),
    raw.subarray(headerEnd),
  ]);
  const signature =
    signatures.length === 1 ? Buffer.from(signatures[0]!.join('\n'), 'latin1').toString('utf8') : null;
  return { signature: signatures.length > 1 ? '' : signature, payload, committerTime };
}

/** Whether a raw commit object is signed by a key `policy` allows. */
export async function verifyCommit(policy: CommitVerify, raw: Buffer): Promise<Verification> {
  const { signature, payload, committerTime } = splitSignedCommit(raw);
  if (signature === '') return { verified: false, signer: null, why: 'the commit carries two signatures' };
  if (!signature) return { verified: false, signer: null, why: 'the commit is not signed' };
  if (policy.format === 'openpgp') return verifyOpenpgp(policy.keys, signature, payload);
  let signers = sshSigners.get(policy.keys);
  if (!signers) {
    signers = parseAllowedSigners(policy.keys);
    if (sshSigners.size >= 16) sshSigners.clear();
    sshSigners.set(policy.keys, signers);
  }
  return verifySsh(signers, signature, payload, committerTime);
}
