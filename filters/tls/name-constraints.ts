/**
 * Name constraints (RFC 5280, 4.2.1.10) as OpenSSL 3 applies them (its
 * `crypto/x509/v3_ncons.c`): the permitted and excluded subtrees of a CA
 * bound the names of every certificate below it. DNS names, email
 * addresses, IP addresses, URIs and directory names are compared; a name of
 * another kind that meets a constraint of its kind fails, as in OpenSSL.
 * Results are OpenSSL's verify code names.
 */
import forge from 'node-forge';

const { asn1 } = forge;

/** Why a certificate's names break a CA's constraints (OpenSSL verify codes). */
export type NameConstraintFailure =
  | 'PERMITTED_VIOLATION'
  | 'EXCLUDED_VIOLATION'
  | 'SUBTREE_MINMAX'
  | 'UNSUPPORTED_CONSTRAINT_TYPE'
  | 'UNSUPPORTED_NAME_SYNTAX'
  | 'INVALID_EXTENSION'
  | 'UNSPECIFIED';

// GeneralName tags (RFC 5280).
const OTHER_NAME = 0;
const EMAIL = 1;
const DNS = 2;
const DIRECTORY = 4;
const URI = 6;
const IP = 7;

const NAME_CONSTRAINTS = '2.5.29.30';
const SUBJECT_ALT_NAME = '2.5.29.17';
const COMMON_NAME = '2.5.4.3';
const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';
const SMTP_UTF8_MAILBOX = '1.3.6.1.5.5.7.8.9';
const IA5_STRING = 22;
// OpenSSL refuses to compare more names × constraints than this (a certificate crafted to make the check slow).
const MAX_COMPARISONS = 1 << 20;

/** A name or a subtree's base: its GeneralName tag and its value. */
interface GeneralName {
  readonly type: number;
  /** The bytes, as a binary string; for a directory name, its canonical RDNs joined. */
  readonly value: string;
  /** For an otherName: its type OID. */
  readonly otherType?: string;
}

interface Subtree {
  readonly base: GeneralName;
  /** Whether `minimum` is 0 and `maximum` absent: the only form OpenSSL accepts. */
  readonly plain: boolean;
}

/** One CA's constraints. */
export interface NameConstraints {
  readonly permitted: readonly Subtree[];
  readonly excluded: readonly Subtree[];
}

/**
 * The certificate's name constraints: `null` when it has none,
 * `'INVALID_EXTENSION'` when the extension cannot be read.
 */
export function nameConstraintsOf(cert: forge.pki.Certificate): NameConstraints | null | 'INVALID_EXTENSION' {
  const der = rawExtension(cert, NAME_CONSTRAINTS);
  if (der === undefined) return null;
  try {
    const permitted: Subtree[] = [];
    const excluded: Subtree[] = [];
    for (const part of children(asn1.fromDer(der))) {
      // [0] permittedSubtrees, [1] excludedSubtrees, each a SEQUENCE OF GeneralSubtree.
      const into = part.type === 0 ? permitted : part.type === 1 ? excluded : undefined;
      if (part.tagClass !== asn1.Class.CONTEXT_SPECIFIC || !into) throw new Error('unexpected field');
      for (const subtree of children(part)) {
        const [base, ...bounds] = children(subtree);
        if (!base) throw new Error('subtree without a base');
        // minimum [0] DEFAULT 0, maximum [1]: anything but an explicit 0 minimum is unsupported.
        const plain = bounds.every((b) => b.type === 0 && /^\0*$/.test(b.value as string));
        into.push({ base: generalName(base), plain });
      }
    }
    return { permitted, excluded };
  } catch {
    return 'INVALID_EXTENSION';
  }
}

/**
 * Checks every name of `cert` against one CA's `constraints`: its subject
 * (as a directory name), the email addresses in its subject, its subject
 * alternative names and, for a leaf without DNS names, a common name that
 * looks like a host name. Returns the first failure, or null.
 */
export function checkNameConstraints(cert: forge.pki.Certificate, constraints: NameConstraints,
  isLeaf: boolean): NameConstraintFailure | null {
  let names: GeneralName[];
  try {
    names = namesOf(cert);
  } catch {
    return 'UNSUPPORTED_NAME_SYNTAX';
  }
  const constraintCount = constraints.permitted.length + constraints.excluded.length;
  if (names.length * constraintCount > MAX_COMPARISONS) return 'UNSPECIFIED';
  for (const name of names) {
    const failure = matchConstraints(name, constraints);
    if (failure) return failure;
  }
  if (isLeaf && !names.some((n) => n.type === DNS)) {
    for (const cn of attributes(cert, COMMON_NAME)) {
      const value = text(cn.value, cn.valueTagClass);
      if (value?.includes('\0')) return 'UNSUPPORTED_NAME_SYNTAX';
      const host = hostLike(value);
      if (host === undefined) continue;
      const failure = matchConstraints({ type: DNS, value: host }, constraints);
      if (failure) return failure;
    }
  }
  return null;
}

// OpenSSL's nc_match: among constraints of the name's kind, one permitted
// subtree (if any is given) must hold it, and no excluded one may.
function matchConstraints(name: GeneralName, constraints: NameConstraints): NameConstraintFailure | null {
  // OpenSSL compares an SMTPUTF8 mailbox (an otherName) with email
  // constraints; this module does not, so one that meets them fails.
  if (name.type === OTHER_NAME && name.otherType === SMTP_UTF8_MAILBOX) {
    return [...constraints.permitted, ...constraints.excluded].some((s) => s.base.type === EMAIL) ? 'UNSUPPORTED_NAME_SYNTAX' : null;
  }
  let seen = false;
  let permitted = false;
  for (const subtree of constraints.permitted) {
    if (!sameKind(name, subtree.base)) continue;
    if (!subtree.plain) return 'SUBTREE_MINMAX';
    if (permitted) continue;
    seen = true;
    const result = matchOne(name, subtree.base);
    if (result === null) permitted = true;
    else if (result !== 'PERMITTED_VIOLATION') return result;
  }
  if (seen && !permitted) return 'PERMITTED_VIOLATION';
  for (const subtree of constraints.excluded) {
    if (!sameKind(name, subtree.base)) continue;
    if (!subtree.plain) return 'SUBTREE_MINMAX';
    const result = matchOne(name, subtree.base);
    if (result === null) return 'EXCLUDED_VIOLATION';
    if (result !== 'PERMITTED_VIOLATION') return result;
  }
  return null;
}

function sameKind(name: GeneralName, base: GeneralName): boolean {
  return name.type === base.type && (name.type !== OTHER_NAME || name.otherType === base.otherType);
}

// Whether `name` lies within `base`: null if it does, PERMITTED_VIOLATION if not, or why it cannot be told.
function matchOne(name: GeneralName, base: GeneralName): NameConstraintFailure | null {
  switch (name.type) {
    case DNS: return matchDns(name.value, base.value);
    case EMAIL: return matchEmail(name.value, base.value);
    case URI: return matchUri(name.value, base.value);
    case IP: return matchIp(name.value, base.value);
    case DIRECTORY: return name.value.startsWith(base.value) ? null : 'PERMITTED_VIOLATION';
    default: return 'UNSUPPORTED_CONSTRAINT_TYPE';
  }
}

// A DNS name matches its base or any name below it ("example.com" holds
// "www.example.com", not "badexample.com"); an empty base holds every name.
function matchDns(name: string, base: string): NameConstraintFailure | null {
  if (base === '') return null;
  if (name.length < base.length) return 'PERMITTED_VIOLATION';
  const tail = name.slice(name.length - base.length);
  if (name.length > base.length && !base.startsWith('.') && !name.slice(0, name.length - base.length).endsWith('.')) {
    return 'PERMITTED_VIOLATION';
  }
  return sameAscii(tail, base) ? null : 'PERMITTED_VIOLATION';
}

// An email base is a whole address (local part compared exactly), a host
// (every address there), or ".domain" (every address below it).
function matchEmail(name: string, base: string): NameConstraintFailure | null {
  const at = name.lastIndexOf('@');
  if (at < 0) return 'UNSUPPORTED_NAME_SYNTAX';
  const baseAt = base.lastIndexOf('@');
  if (baseAt < 0 && base.startsWith('.')) {
    return name.length > base.length && sameAscii(name.slice(name.length - base.length), base) ? null : 'PERMITTED_VIOLATION';
  }
  if (baseAt > 0 && base.slice(0, baseAt) !== name.slice(0, at)) return 'PERMITTED_VIOLATION';
  return sameAscii(name.slice(at + 1), base.slice(baseAt + 1)) ? null : 'PERMITTED_VIOLATION';
}

// A URI's host is compared: to the whole base, or below a ".domain" base.
function matchUri(name: string, base: string): NameConstraintFailure | null {
  const colon = name.indexOf(':');
  if (colon < 0 || name.slice(colon, colon + 3) !== '://') return 'UNSUPPORTED_NAME_SYNTAX';
  const rest = name.slice(colon + 3);
  // The host ends at a port's ':' if there is one anywhere, else at the first '/'.
  const end = rest.includes(':') ? rest.indexOf(':') : rest.indexOf('/');
  const host = end < 0 ? rest : rest.slice(0, end);
  if (host === '') return 'UNSUPPORTED_NAME_SYNTAX';
  if (base.startsWith('.')) {
    return host.length > base.length && sameAscii(host.slice(host.length - base.length), base) ? null : 'PERMITTED_VIOLATION';
  }
  return sameAscii(host, base) ? null : 'PERMITTED_VIOLATION';
}

// An IP base is an address and a mask (8 bytes for IPv4, 32 for IPv6).
function matchIp(name: string, base: string): NameConstraintFailure | null {
  if (name.length !== 4 && name.length !== 16) return 'UNSUPPORTED_NAME_SYNTAX';
  if (base.length !== 8 && base.length !== 32) return 'UNSUPPORTED_NAME_SYNTAX';
  if (name.length * 2 !== base.length) return 'PERMITTED_VIOLATION';
  for (let i = 0; i < name.length; i++) {
    const mask = base.charCodeAt(name.length + i);
    if ((name.charCodeAt(i) & mask) !== (base.charCodeAt(i) & mask)) return 'PERMITTED_VIOLATION';
  }
  return null;
}

function sameAscii(a: string, b: string): boolean {
  return a.length === b.length && a.replace(/[A-Z]/g, (c) => c.toLowerCase()) === b.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// The names OpenSSL checks: the subject (if not empty), the subject's email
// addresses, then every subject alternative name.
function namesOf(cert: forge.pki.Certificate): GeneralName[] {
  const names: GeneralName[] = [];
  const subject = subjectName(cert);
  if (subject !== undefined && subject.length > 0) names.push({ type: DIRECTORY, value: canonicalName(subject) });
  for (const address of attributes(cert, EMAIL_ADDRESS)) {
    if (address.valueTagClass !== IA5_STRING) throw new Error('email address is not an IA5String');
    names.push({ type: EMAIL, value: address.value });
  }
  const san = rawExtension(cert, SUBJECT_ALT_NAME);
  if (san !== undefined) {
    for (const name of children(asn1.fromDer(san))) names.push(generalName(name));
  }
  return names;
}

function generalName(node: forge.asn1.Asn1): GeneralName {
  if (node.tagClass !== asn1.Class.CONTEXT_SPECIFIC) throw new Error('not a GeneralName');
  if (node.type === DIRECTORY) {
    // [4] is explicit (Name is a CHOICE): it holds the RDN sequence.
    const [rdns] = children(node);
    if (!rdns) throw new Error('empty directory name');
    return { type: DIRECTORY, value: canonicalName(children(rdns)) };
  }
  if (node.type === OTHER_NAME) {
    const [oid] = children(node);
    return { type: OTHER_NAME, value: '', otherType: oid ? asn1.derToOid(oid.value as string) : '' };
  }
  if (node.constructed) return { type: node.type, value: asn1.toDer(node).getBytes() };
  return { type: node.type, value: node.value as string };
}

// OpenSSL compares directory names by a canonical form, one RDN after the
// other: string values in UTF-8, trimmed, inner spaces collapsed, ASCII in
// lower case. A base holds every name that starts with its RDNs.
function canonicalName(rdns: readonly forge.asn1.Asn1[]): string {
  return rdns.map((rdn) => children(rdn).map((pair) => {
    const [type, value] = children(pair);
    if (!type || !value) throw new Error('bad attribute');
    return `${asn1.derToOid(type.value as string)}=${canonicalValue(value)}`;
  }).sort().join('+') + '\n').join('');
}

function canonicalValue(value: forge.asn1.Asn1): string {
  if (value.constructed) return `#${forge.util.bytesToHex(asn1.toDer(value).getBytes())}`;
  const decoded = text(value.value as string, value.type);
  if (decoded === undefined) return `#${value.type}:${forge.util.bytesToHex(value.value as string)}`;
  return decoded.trim().replace(/\s+/g, ' ').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// The text of a string value (UTF8String, PrintableString, T61String,
// IA5String, VisibleString, UniversalString, BMPString); undefined for
// other types and for bytes that do not decode.
function text(bytes: string, tag: number): string | undefined {
  try {
    switch (tag) {
      case 12: return forge.util.decodeUtf8(bytes);
      case 19: case 20: case 22: case 26: return bytes;
      case 28: return codePoints(bytes, 4);
      case 30: return codePoints(bytes, 2);
      default: return undefined;
    }
  } catch {
    return undefined;
  }
}

// Big-endian fixed-width code points (UCS-4 or UCS-2) as a string.
function codePoints(bytes: string, width: number): string {
  if (bytes.length % width !== 0) throw new Error('truncated string');
  let result = '';
  for (let at = 0; at < bytes.length; at += width) {
    let point = 0;
    for (let i = 0; i < width; i++) point = point * 256 + bytes.charCodeAt(at + i);
    result += String.fromCodePoint(point);
  }
  return result;
}

// A common name is compared as a DNS name only when it looks like one: two
// or more labels of letters, digits, '-' and '_' (OpenSSL's cn2dnsid).
function hostLike(cn: string | undefined): string | undefined {
  if (cn === undefined) return undefined;
  const name = cn.endsWith('.') ? cn.slice(0, -1) : cn;
  return /^[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*(?:\.[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*)+$/.test(name) ? name : undefined;
}

// The subject's RDNs as forge parsed them (it keeps the ASN.1 of a parsed certificate).
function subjectName(cert: forge.pki.Certificate): forge.asn1.Asn1[] | undefined {
  const tbs = (cert as unknown as { tbsCertificate?: forge.asn1.Asn1 }).tbsCertificate;
  if (!tbs) return undefined;
  const fields = children(tbs);
  // version [0] is optional; then serial, signature, issuer, validity, subject.
  const subject = fields[fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 5 : 4];
  return subject ? children(subject) : undefined;
}

function attributes(cert: forge.pki.Certificate, oid: string): Array<{ value: string; valueTagClass: number }> {
  return (cert.subject.attributes as Array<{ type: string; value: string; valueTagClass: number }>).filter((a) => a.type === oid);
}

function rawExtension(cert: forge.pki.Certificate, oid: string): string | undefined {
  const found = (cert.extensions as Array<{ id: string; value: unknown }>).find((e) => e.id === oid);
  return typeof found?.value === 'string' ? found.value : undefined;
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  if (!Array.isArray(node.value)) throw new Error('expected a constructed value');
  return node.value;
}
