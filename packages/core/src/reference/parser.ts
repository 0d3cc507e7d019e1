/**
 * Parser and printer for Strata's `<<resolve:…>>` references: CloudFormation dynamic references
 * with `<<` `>>` as delimiters. Pure functions, no I/O. A hand-written scanner: linear time in the
 * input length, no backtracking regular expressions.
 *
 * ## Grammar
 *
 * ```
 * <<resolve:ssm:NAME>>                     latest version
 * <<resolve:ssm:NAME:VERSION>>             a version number or a label
 * <<resolve:ssm-secure:NAME[:VERSION]>>    same, but the parameter must be a SecureString
 * <<resolve:secretsmanager:SECRET-ID[:SecretString[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]]>>
 * <<resolve:kms:CIPHERTEXT[:CONTEXT]>>
 * ```
 *
 * A reference ends at the first `>>` after its `<<resolve:`. No part of a reference may contain
 * whitespace, `<` or `>`; segments are separated by `:`.
 *
 * - NAME (ssm, ssm-secure): a parameter name or path of `a-z A-Z 0-9 _ . - /` (`my-param`,
 *   `/a/b-c/d_e.f`), or a full parameter ARN `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME`
 *   (PARTITION is `aws`, `aws-cn` or `aws-us-gov`; ACCOUNT is 12 digits). An ARN is parsed as one
 *   unit, colons included, and kept verbatim as `name`: providers interpret it. A leading `arn`
 *   segment followed by at least two more segments is an ARN; `<<resolve:ssm:arn:3>>` is the
 *   parameter `arn`, version 3. `/aws/reference/secretsmanager/SECRET-ID` is an ordinary name
 *   (kept as is); after that prefix the Secrets Manager characters `+ = @` are allowed too.
 * - VERSION: all digits is a version number (`version`, >= 1, a safe integer; leading zeros are
 *   accepted: `007` is 7). Anything else is a label (`label`): letters, digits, `.`, `-`, `_`,
 *   at most 100 characters, not starting with a digit. An empty VERSION (`NAME:`) is an error.
 * - SECRET-ID: a secret name of `a-z A-Z 0-9 / _ + = . @ -`, or a full secret ARN
 *   `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME` (the `-AbCdEf` suffix optional),
 *   kept verbatim. A leading `arn` segment is an ARN unless the next segment is `SecretString`.
 *   The segment after SECRET-ID, if present, must be exactly `SecretString` (CloudFormation
 *   supports nothing else; `SecretBinary` is an error). JSON-KEY, VERSION-STAGE and VERSION-ID
 *   may be empty, which means "not given": `<<resolve:secretsmanager:prod/db:SecretString::AWSPREVIOUS>>`
 *   has no JSON key and the stage AWSPREVIOUS. Both a stage and a version id may be given; they
 *   are parsed as they are and the resolver passes both to AWS. JSON-KEY is a plain string (any
 *   characters but whitespace, control characters, `:`, `<` and `>`); the resolver reads `.` in it
 *   as a path into nested objects. VERSION-STAGE and VERSION-ID use the same character set.
 * - CIPHERTEXT: standard base64 (`A-Z a-z 0-9 + /`) or base64url (`- _` instead of `+ /`), not
 *   both alphabets at once, with optional `=` padding (at most two, only at the end, and then the
 *   length must be a multiple of 4). Kept verbatim.
 * - CONTEXT: the KMS encryption context as `key=value,key2=value2`. Keys and values are
 *   percent-encoded (`encodeURIComponent`), so `,` `=` `:` `%` `<` `>` and spaces are written
 *   `%2C` `%3D` `%3A` `%25` `%3C` `%3E` `%20`. When parsing, other characters may also appear
 *   unencoded (e.g. `/` or `é`), and every `%XX` sequence is decoded (it must be valid UTF-8).
 *   Keys must be non-empty and distinct; values may be empty (`k=`). An empty CONTEXT
 *   (`<<resolve:kms:AAAA:>>`) is an empty context `{}`. The printer sorts keys and encodes every
 *   key and value with `encodeURIComponent`.
 *
 * ## Templates
 *
 * `parseTemplate` splits a string into text and references. `<<` not followed by `resolve:` is
 * plain text. Backslashes are special only directly before `<<resolve:`: a run of N backslashes
 * there stands for N/2 (rounded down) literal backslashes; if N is odd, the `<<resolve:` is literal
 * text, otherwise a reference starts there. So `\<<resolve:ssm:x>>` is the text `<<resolve:ssm:x>>`,
 * and `\\<<resolve:ssm:x>>` is a backslash followed by a reference. Backslashes anywhere else are
 * literal (`C:\dir`, `a\\b` are unchanged). `formatTemplate` is the inverse: before every literal
 * `<<resolve:` in a text part it writes 2N+1 backslashes (N = the backslashes that precede it in
 * the text), and it doubles the backslashes that end a text part followed by a reference.
 *
 * ## Names (as AWS validates them)
 *
 * A parameter NAME is at most 1,011 characters (AWS's limit, which counts an ARN too), has at most
 * 15 levels, and a name with a `/` is fully qualified: it starts with `/`, has no empty segment
 * (`//`, a trailing `/`) and no `.` or `..` segment. Its first segment may not start with `aws` or
 * `ssm` in any case (AWS reserves them), except the readable namespaces `/aws/service/…` (public
 * parameters) and `/aws/reference/secretsmanager/…`. A SECRET-ID name is at most 512 characters
 * (an ARN at most 2,048). A label may not start with `aws` or `ssm` either; a VERSION-STAGE is at
 * most 256 characters.
 *
 * ## Errors
 *
 * Every parse failure is a `StrataError` with code `PARSE_ERROR`, `position` = the 0-based offset
 * in the input of the problem (always within `[0, input.length]`), and a message of the form
 * `invalid reference at 12: unknown reference type (…) in '<<resolve:'`. The message never quotes
 * text of the input that did not pass validation: the echo (also in `source`) is the reference up
 * to the end of the part that did — `<<resolve:`, the type, and the name or secret id when it is
 * valid — truncated to 80 characters; the reason names the problem and its position only. A
 * missing `>>` is reported at the opening `<<`. With `origin` (text that came from a source: a
 * parameter or secret value, a KMS plaintext), nothing of the input is echoed at all: the message
 * names the origin and the position (`invalid reference at 12: … (in the value of ssm parameter /a)`)
 * and `source` is the origin's `source`. Nothing else is ever thrown by the parser. The printers
 * throw `StrataError` `INVALID_INPUT` for a reference object that does not satisfy these rules.
 */

import { parameterName } from '../aws/arn.js';
import { StrataError } from '../errors.js';

export type SsmReference = {
  service: 'ssm';
  name: string;
  secure: boolean;
  version?: number;
  label?: string;
};
export type SecretsManagerReference = {
  service: 'secretsmanager';
  secretId: string;
  jsonKey?: string;
  versionStage?: string;
  versionId?: string;
};
export type KmsReference = { service: 'kms'; ciphertext: string; context?: Record<string, string> };
export type Reference = SsmReference | SecretsManagerReference | KmsReference;
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; ref: Reference; raw: string; start: number; end: number };

const OPEN = '<<resolve:';
const CLOSE = '>>';
const ECHO_MAX = 80;
const LABEL_MAX = 100;
/** AWS: the fully qualified parameter name, ARN included, is at most 1,011 characters. */
export const PARAMETER_NAME_MAX = 1011;
/** AWS: at most 15 levels in a parameter hierarchy. */
export const PARAMETER_DEPTH_MAX = 15;
/** AWS: a secret name is at most 512 characters; a secret id (an ARN) at most 2,048. */
const SECRET_NAME_MAX = 512;
const SECRET_ID_MAX = 2048;
const STAGE_MAX = 256;
/** Namespaces under the reserved `/aws` prefix that can be read. */
const READABLE_AWS_PREFIXES = ['/aws/service/', '/aws/reference/secretsmanager/'];
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov']);
const SM_REFERENCE_PREFIX = '/aws/reference/secretsmanager/';
const TYPES = 'expected ssm, ssm-secure, secretsmanager or kms';
const SM_SHAPE = 'SECRET-ID[:SecretString[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]]';

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Where text being parsed came from, when it is not the caller's own input: a value read from a
 * source (a parameter, a secret, a KMS plaintext). Errors then name `what` and `source` and echo
 * nothing of the text.
 */
export interface ParseOrigin {
  /** How to name the text in a message: `the value of ssm parameter /acme/dev/db/url`. */
  what: string;
  /** The source to put in the error's `source`: the parameter name or secret id. */
  source: string;
}

export interface ParseOptions {
  origin?: ParseOrigin;
}

/** Where the reference being parsed sits in the input, for the message's echo. */
interface Where {
  input: string;
  start: number;
  end: number;
  /** Offset up to which the reference passed validation: the echo never goes past it. */
  shown: number;
  origin?: ParseOrigin | undefined;
}

/** Quotes user text for a message: control characters escaped, long text truncated. */
function quote(text: string, max = ECHO_MAX): string {
  let s = text;
  if (s.length > max) {
    let cut = max;
    const c = s.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
    s = `${s.slice(0, cut)}…`;
  }
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? `\\u${c.toString(16).padStart(4, '0')}` : s[i];
  }
  return `'${out}'`;
}

/**
 * The one way a parse error is made. `reason` never contains input text. The echo is the part of
 * the reference that passed validation (`<<resolve:ssm:/a/b`), never what follows it (an
 * unterminated reference followed by a literal password); with an origin there is no echo.
 */
function fail(w: Where, position: number, reason: string): never {
  if (w.origin) {
    throw new StrataError(
      'PARSE_ERROR',
      `invalid reference at ${position}: ${reason} (in ${w.origin.what})`,
      {
        position,
        source: w.origin.source,
      },
    );
  }
  const stop = Math.max(w.start, Math.min(w.shown, w.end, w.start + ECHO_MAX + 1));
  const text = w.input.slice(w.start, stop);
  const echo = quote(text);
  throw new StrataError('PARSE_ERROR', `invalid reference at ${position}: ${reason} in ${echo}`, {
    position,
    source: text.slice(0, ECHO_MAX),
  });
}

/** Marks `w.input[.. end]` as validated (it may be echoed). */
function shown(w: Where, end: number): void {
  if (end > w.shown) w.shown = end;
}

function invalid(reason: string): StrataError {
  return new StrataError('INVALID_INPUT', `cannot format reference: ${reason}`);
}

// ---------------------------------------------------------------------------------------------
// Character classes

function isWhitespace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff ||
    c === 0x85
  );
}

function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** `a-z A-Z 0-9 _ . - /`: SSM parameter names. */
function isParamChar(c: number): boolean {
  return isAlnum(c) || c === 0x5f || c === 0x2e || c === 0x2d || c === 0x2f;
}

/** `a-z A-Z 0-9 / _ + = . @ -`: Secrets Manager names. */
function isSecretChar(c: number): boolean {
  return (
    isAlnum(c) ||
    c === 0x2f ||
    c === 0x5f ||
    c === 0x2b ||
    c === 0x3d ||
    c === 0x2e ||
    c === 0x40 ||
    c === 0x2d
  );
}

/** `a-z A-Z 0-9 . - _`: SSM labels. */
function isLabelChar(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === 0x2d || c === 0x5f;
}

/** JSON keys, version stages and version ids: anything but whitespace, controls, `:` `<` `>`. */
function isFreeChar(c: number): boolean {
  return !isWhitespace(c) && !isControl(c) && c !== 0x3a && c !== 0x3c && c !== 0x3e;
}

/** Index of the first character of `text` failing `ok`, or -1. */
function firstBad(text: string, ok: (c: number) => boolean, from = 0): number {
  for (let i = from; i < text.length; i++) if (!ok(text.charCodeAt(i))) return i;
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Segments

interface Seg {
  text: string;
  /** Absolute offset in the input. */
  start: number;
}

function split(input: string, from: number, to: number, sep: string): Seg[] {
  const segs: Seg[] = [];
  let start = from;
  for (;;) {
    const i = input.indexOf(sep, start);
    if (i < 0 || i >= to) {
      segs.push({ text: input.slice(start, to), start });
      return segs;
    }
    segs.push({ text: input.slice(start, i), start });
    start = i + 1;
  }
}

function end(seg: Seg): number {
  return seg.start + seg.text.length;
}

function checkChars(w: Where, seg: Seg, ok: (c: number) => boolean, what: string, from = 0): void {
  const bad = firstBad(seg.text, ok, from);
  if (bad >= 0) fail(w, seg.start + bad, `invalid character in ${what}`);
}

function checkRegion(w: Where, seg: Seg): void {
  const ok = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
  if (seg.text === '' || firstBad(seg.text, ok) >= 0) {
    fail(w, seg.start, 'invalid region in ARN');
  }
}

function checkArnHead(w: Where, segs: Seg[], service: string): void {
  const [, partition, svc, region, account] = segs as [Seg, Seg, Seg, Seg, Seg];
  if (!PARTITIONS.has(partition.text)) {
    fail(w, partition.start, 'unknown ARN partition (expected aws, aws-cn or aws-us-gov)');
  }
  if (svc.text !== service) {
    fail(w, svc.start, `expected service '${service}' in ARN`);
  }
  checkRegion(w, region);
  if (account.text.length !== 12 || firstBad(account.text, isDigit) >= 0) {
    fail(w, account.start, 'invalid account in ARN (expected 12 digits)');
  }
}

/** True when `name` starts with `aws` or `ssm` in any case (AWS reserves them). */
function reservedPrefix(text: string): boolean {
  const head = text.slice(0, 3).toLowerCase();
  return head === 'aws' || head === 'ssm';
}

/**
 * Why a parameter name (no ARN) breaks AWS's naming rules, or undefined. Characters are checked
 * elsewhere. Pure; also used for hierarchy paths.
 */
export function parameterNameProblem(name: string): string | undefined {
  if (name === '') return 'empty parameter name';
  if (name.length > PARAMETER_NAME_MAX)
    return `parameter name is longer than ${PARAMETER_NAME_MAX.toLocaleString('en-US')} characters`;
  const qualified = name.startsWith('/');
  if (!qualified && name.includes('/'))
    return "a parameter name with '/' must start with '/' (fully qualified)";
  const segments = (qualified ? name.slice(1) : name).split('/');
  if (segments.some((s) => s === '')) return "empty path segment ('//' or a trailing '/') in parameter name";
  if (segments.some((s) => s === '.' || s === '..'))
    return "'.' and '..' are not valid parameter name segments";
  if (segments.length > PARAMETER_DEPTH_MAX)
    return `parameter name has more than ${PARAMETER_DEPTH_MAX} levels`;
  if (reservedPrefix(segments[0]!) && !READABLE_AWS_PREFIXES.some((p) => name.startsWith(p)))
    return "parameter names cannot start with 'aws' or 'ssm' (reserved by AWS)";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reference bodies

/** Validates an SSM parameter name (without the ARN wrapper); `seg.text.slice(from)` is the name. */
function checkParamName(w: Where, seg: Seg, from: number): void {
  const name = seg.text.slice(from);
  if (name === '') fail(w, seg.start + from, 'empty parameter name');
  if (name.startsWith(SM_REFERENCE_PREFIX)) {
    const idAt = from + SM_REFERENCE_PREFIX.length;
    if (idAt >= seg.text.length) fail(w, seg.start + idAt, `empty secret id after '${SM_REFERENCE_PREFIX}'`);
    checkChars(w, seg, isSecretChar, 'secret id', idAt);
    if (seg.text.length - idAt > SECRET_NAME_MAX)
      fail(w, seg.start + idAt, `secret name is longer than ${SECRET_NAME_MAX} characters`);
    if (seg.text.length > PARAMETER_NAME_MAX)
      fail(
        w,
        seg.start,
        `parameter name is longer than ${PARAMETER_NAME_MAX.toLocaleString('en-US')} characters`,
      );
  } else {
    checkChars(w, seg, isParamChar, 'parameter name', from);
    const problem = parameterNameProblem(name);
    if (problem) fail(w, seg.start + from, problem);
  }
}

function parseVersion(w: Where, seg: Seg, stage = false): { version: number } | { label: string } {
  const t = seg.text;
  if (t === '') fail(w, seg.start, "empty version after ':' (expected a version number or a label)");
  if (firstBad(t, isDigit) < 0) {
    const digits = t.replace(/^0+/, '');
    const version = digits === '' ? 0 : Number(digits);
    if (version === 0) fail(w, seg.start, 'version must be a positive integer');
    if (digits.length > 16 || !Number.isSafeInteger(version))
      fail(w, seg.start, 'version number is too large');
    return { version };
  }
  if (isDigit(t.charCodeAt(0))) fail(w, seg.start, 'label cannot start with a digit');
  checkChars(w, seg, isLabelChar, 'label');
  if (t.length > LABEL_MAX) fail(w, seg.start, `label is longer than ${LABEL_MAX} characters`);
  // a Secrets Manager reference through SSM takes a version stage here (AWSPREVIOUS)
  if (!stage && reservedPrefix(t))
    fail(w, seg.start, "labels cannot start with 'aws' or 'ssm' (reserved by AWS)");
  return { label: t };
}

function extra(w: Where, seg: Seg, shape: string): never {
  fail(w, seg.start - 1, `unexpected extra segment (expected ${shape})`);
}

function parseSsm(w: Where, type: Seg, rest: Seg[], closeAt: number): SsmReference {
  const secure = type.text === 'ssm-secure';
  const shape = `${type.text}:NAME[:VERSION]`;
  const first = rest[0];
  if (first === undefined) fail(w, closeAt, `missing parameter name (expected ${shape})`);
  let name: string;
  let used: number;
  if (first.text === 'arn' && rest.length > 2) {
    if (rest.length < 6) {
      fail(
        w,
        first.start,
        'incomplete parameter ARN (expected arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME)',
      );
    }
    checkArnHead(w, rest, 'ssm');
    const resource = rest[5]!;
    if (!resource.text.startsWith('parameter/')) {
      fail(w, resource.start, "expected 'parameter/NAME' in parameter ARN");
    }
    // Validate what follows `parameter` as a name with a leading slash (`parameter/a/b` -> `/a/b`).
    if (resource.text === 'parameter/') fail(w, end(resource), 'empty parameter name in ARN');
    checkParamName(w, resource, 'parameter'.length);
    if (end(resource) - first.start > PARAMETER_NAME_MAX)
      fail(
        w,
        first.start,
        `parameter ARN is longer than ${PARAMETER_NAME_MAX.toLocaleString('en-US')} characters`,
      );
    name = w.input.slice(first.start, end(resource));
    used = 6;
  } else {
    checkParamName(w, first, 0);
    name = first.text;
    used = 1;
  }
  shown(w, first.start + name.length);
  const ref: SsmReference = { service: 'ssm', name, secure };
  const version = rest[used];
  if (version !== undefined) {
    const next = rest[used + 1];
    if (next !== undefined) extra(w, next, shape);
    Object.assign(ref, parseVersion(w, version, parameterName(name).startsWith(SM_REFERENCE_PREFIX)));
  }
  return ref;
}

function parseSecretsManager(w: Where, rest: Seg[], closeAt: number): SecretsManagerReference {
  const first = rest[0];
  if (first === undefined) fail(w, closeAt, `missing secret id (expected secretsmanager:${SM_SHAPE})`);
  let secretId: string;
  let used: number;
  if (first.text === 'arn' && rest.length > 1 && rest[1]!.text !== 'SecretString') {
    if (rest.length < 7) {
      fail(
        w,
        first.start,
        'incomplete secret ARN (expected arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME)',
      );
    }
    checkArnHead(w, rest, 'secretsmanager');
    const type = rest[5]!;
    if (type.text !== 'secret') fail(w, type.start, "expected 'secret' in secret ARN");
    const nameSeg = rest[6]!;
    if (nameSeg.text === '') fail(w, nameSeg.start, 'empty secret name in ARN');
    checkChars(w, nameSeg, isSecretChar, 'secret name');
    if (nameSeg.text.length > SECRET_NAME_MAX + 7)
      fail(w, nameSeg.start, `secret name is longer than ${SECRET_NAME_MAX} characters`);
    secretId = w.input.slice(first.start, end(nameSeg));
    if (secretId.length > SECRET_ID_MAX)
      fail(w, first.start, `secret ARN is longer than ${SECRET_ID_MAX.toLocaleString('en-US')} characters`);
    used = 7;
  } else {
    if (first.text === '') fail(w, first.start, 'empty secret id');
    checkChars(w, first, isSecretChar, 'secret id');
    if (first.text.length > SECRET_NAME_MAX)
      fail(w, first.start, `secret name is longer than ${SECRET_NAME_MAX} characters`);
    secretId = first.text;
    used = 1;
  }
  shown(w, first.start + secretId.length);
  const ref: SecretsManagerReference = { service: 'secretsmanager', secretId };
  const opt = rest.slice(used);
  const over = opt[4];
  if (over !== undefined) extra(w, over, SM_SHAPE);
  const kind = opt[0];
  if (kind === undefined) return ref;
  if (kind.text !== 'SecretString') {
    fail(
      w,
      kind.start,
      kind.text === ''
        ? "expected 'SecretString' after the secret id"
        : kind.text === 'SecretBinary'
          ? "'SecretBinary' is not supported (only 'SecretString' is)"
          : "unsupported segment after the secret id (only 'SecretString' is supported)",
    );
  }
  const fields = [
    ['jsonKey', 'JSON key'],
    ['versionStage', 'version stage'],
    ['versionId', 'version id'],
  ] as const;
  fields.forEach(([field, what], i) => {
    const seg = opt[i + 1];
    if (seg === undefined || seg.text === '') return;
    checkChars(w, seg, isFreeChar, what);
    if (field === 'versionStage' && seg.text.length > STAGE_MAX)
      fail(w, seg.start, `version stage is longer than ${STAGE_MAX} characters`);
    ref[field] = seg.text;
  });
  return ref;
}

function checkBase64(w: Where, seg: Seg): void {
  const t = seg.text;
  if (t === '') fail(w, seg.start, 'empty ciphertext');
  let std = false;
  let url = false;
  let data = 0;
  let pad = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (pad > 0) {
      if (c !== 0x3d) fail(w, seg.start + i, "base64 padding '=' must come last in ciphertext");
      if (++pad > 2) fail(w, seg.start + i, "too much base64 padding '=' in ciphertext");
    } else if (isAlnum(c)) {
      data++;
    } else if (c === 0x2b || c === 0x2f) {
      if (url) fail(w, seg.start + i, 'invalid character in base64url ciphertext (mixed alphabets)');
      std = true;
      data++;
    } else if (c === 0x2d || c === 0x5f) {
      if (std) fail(w, seg.start + i, 'invalid character in base64 ciphertext (mixed alphabets)');
      url = true;
      data++;
    } else if (c === 0x3d) {
      if (data === 0) fail(w, seg.start + i, "base64 padding '=' must come last in ciphertext");
      pad = 1;
    } else {
      fail(w, seg.start + i, 'invalid base64 character in ciphertext');
    }
  }
  if (data % 4 === 1) fail(w, seg.start, 'invalid base64 length of ciphertext (truncated?)');
  if (pad > 0 && (data + pad) % 4 !== 0) fail(w, seg.start + data, "wrong base64 padding '=' in ciphertext");
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Checks and decodes one percent-encoded key or value of an encryption context. */
function decodeContextText(w: Where, seg: Seg, what: string): string {
  const t = seg.text;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x25) {
      if (!isHex(t.charCodeAt(i + 1)) || !isHex(t.charCodeAt(i + 2))) {
        fail(w, seg.start + i, `invalid percent-encoding in encryption context ${what}`);
      }
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = t.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff))
        fail(w, seg.start + i, `unpaired surrogate in encryption context ${what}`);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      fail(w, seg.start + i, `unpaired surrogate in encryption context ${what}`);
    } else if (c === 0x2c || c === 0x3d || !isFreeChar(c)) {
      fail(w, seg.start + i, `invalid character in encryption context ${what} (percent-encode it)`);
    }
  }
  try {
    return decodeURIComponent(t);
  } catch {
    return fail(w, seg.start, `invalid percent-encoding in encryption context ${what} (not UTF-8)`);
  }
}

function parseContext(w: Where, seg: Seg): Record<string, string> {
  if (seg.text === '') return {};
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const item of split(w.input, seg.start, end(seg), ',')) {
    if (item.text === '') fail(w, item.start, 'empty entry in encryption context (expected KEY=VALUE)');
    const eq = item.text.indexOf('=');
    if (eq < 0) fail(w, item.start, 'expected KEY=VALUE in encryption context');
    const keySeg: Seg = { text: item.text.slice(0, eq), start: item.start };
    const valueSeg: Seg = { text: item.text.slice(eq + 1), start: item.start + eq + 1 };
    const key = decodeContextText(w, keySeg, 'key');
    const value = decodeContextText(w, valueSeg, 'value');
    if (key === '') fail(w, item.start, 'empty encryption context key');
    if (seen.has(key)) fail(w, item.start, 'duplicate encryption context key');
    seen.add(key);
    entries.push([key, value]);
  }
  // Object.fromEntries defines own properties, so even a key like `__proto__` is kept as data.
  return Object.fromEntries(entries);
}

function parseKms(w: Where, rest: Seg[], closeAt: number): KmsReference {
  const ct = rest[0];
  if (ct === undefined) fail(w, closeAt, 'missing ciphertext (expected kms:BASE64-CIPHERTEXT[:CONTEXT])');
  checkBase64(w, ct);
  const ctx = rest[1];
  const over = rest[2];
  if (over !== undefined) {
    extra(w, over, "kms:BASE64-CIPHERTEXT[:CONTEXT]; write ':' in the context as %3A");
  }
  const ref: KmsReference = { service: 'kms', ciphertext: ct.text };
  if (ctx !== undefined) ref.context = parseContext(w, ctx);
  return ref;
}

const KNOWN_TYPES = ['ssm-secure:', 'ssm:', 'secretsmanager:', 'kms:'];

/** The end of `TYPE:` when the text at `from` starts with a known type, else `from` (for the echo). */
function knownTypeEnd(input: string, from: number, to: number): number {
  for (const t of KNOWN_TYPES) if (from + t.length <= to && input.startsWith(t, from)) return from + t.length;
  return from;
}

/** Parses the reference whose `<<` is at `start` and whose closing `>>` is at `closeAt`. */
function parseAt(input: string, start: number, closeAt: number, origin?: ParseOrigin): Reference {
  const w: Where = { input, start, end: closeAt + CLOSE.length, shown: start + OPEN.length, origin };
  const bodyStart = start + OPEN.length;
  shown(w, knownTypeEnd(input, bodyStart, closeAt));
  for (let i = bodyStart; i < closeAt; i++) {
    if (isWhitespace(input.charCodeAt(i))) {
      fail(w, i, "whitespace is not allowed inside a reference (is the closing '>>' missing?)");
    }
  }
  const [type, ...rest] = split(input, bodyStart, closeAt, ':') as [Seg, ...Seg[]];
  switch (type.text) {
    case 'ssm':
    case 'ssm-secure':
      return parseSsm(w, type, rest, closeAt);
    case 'secretsmanager':
      return parseSecretsManager(w, rest, closeAt);
    case 'kms':
      return parseKms(w, rest, closeAt);
    case '':
      return fail(w, type.start, `missing reference type (${TYPES})`);
    default:
      return fail(w, type.start, `unknown reference type (${TYPES})`);
  }
}

/** Keeps the "only PARSE_ERROR" promise even if a bug throws something else. */
function guard<T>(input: string, fn: () => T, origin?: ParseOrigin): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StrataError) throw err;
    // no echo of the input here: the failure is ours, not the input's, and the input may hold secrets
    throw new StrataError(
      'PARSE_ERROR',
      `invalid reference at 0: internal parser error (input of ${input.length} characters)${origin ? ` (in ${origin.what})` : ''}`,
      { position: 0, ...(origin ? { source: origin.source } : {}) },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Parses exactly one `<<resolve:…>>` reference (the whole input). Throws `PARSE_ERROR`. */
export function parseReference(input: string, opts: ParseOptions = {}): Reference {
  if (typeof input !== 'string') {
    throw new StrataError('PARSE_ERROR', 'invalid reference at 0: expected a string', { position: 0 });
  }
  const origin = opts.origin;
  return guard(
    input,
    () => {
      const all: Where = { input, start: 0, end: input.length, shown: 0, origin };
      if (input.startsWith(OPEN)) all.shown = knownTypeEnd(input, OPEN.length, input.length);
      if (!input.startsWith(OPEN)) fail(all, 0, `expected a reference starting with '${OPEN}'`);
      const closeAt = input.indexOf(CLOSE, OPEN.length);
      if (closeAt < 0) fail(all, 0, "missing closing '>>'");
      if (closeAt + CLOSE.length !== input.length) {
        fail(
          all,
          closeAt + CLOSE.length,
          "unexpected text after the closing '>>' (use parseTemplate for embedded references)",
        );
      }
      return parseAt(input, 0, closeAt, origin);
    },
    origin,
  );
}

/**
 * Splits a string into text and references. Text parts are never empty and never adjacent; the
 * escapes described in the header are already applied to them. `start`/`end` of a reference are
 * offsets into `input` (end exclusive) and `raw` is `input.slice(start, end)`. Throws `PARSE_ERROR`
 * at the first malformed reference.
 */
export function parseTemplate(input: string, opts: ParseOptions = {}): TemplatePart[] {
  if (typeof input !== 'string') {
    throw new StrataError('PARSE_ERROR', 'invalid reference at 0: expected a string', { position: 0 });
  }
  const origin = opts.origin;
  return guard(
    input,
    () => {
      const parts: TemplatePart[] = [];
      let text: string[] = [];
      const flush = () => {
        const t = text.join('');
        if (t !== '') parts.push({ kind: 'text', text: t });
        text = [];
      };
      let i = 0;
      for (;;) {
        const j = input.indexOf(OPEN, i);
        if (j < 0) break;
        let k = j;
        while (k > i && input.charCodeAt(k - 1) === 0x5c) k--;
        const slashes = j - k;
        text.push(input.slice(i, k), '\\'.repeat(slashes >> 1));
        if (slashes % 2 === 1) {
          text.push(OPEN);
          i = j + OPEN.length;
          continue;
        }
        const closeAt = input.indexOf(CLOSE, j + OPEN.length);
        if (closeAt < 0)
          fail(
            {
              input,
              start: j,
              end: input.length,
              shown: knownTypeEnd(input, j + OPEN.length, input.length),
              origin,
            },
            j,
            "missing closing '>>'",
          );
        const ref = parseAt(input, j, closeAt, origin);
        const refEnd = closeAt + CLOSE.length;
        flush();
        parts.push({ kind: 'ref', ref, raw: input.slice(j, refEnd), start: j, end: refEnd });
        i = refEnd;
      }
      text.push(input.slice(i));
      flush();
      return parts;
    },
    origin,
  );
}

/**
 * Cheap check: true when `input` contains `<<resolve:` (a reference, an escaped one or a malformed
 * one), i.e. when `parseTemplate` may do anything but return the input as one text part. Never throws.
 */
export function hasReference(input: string): boolean {
  return typeof input === 'string' && input.includes(OPEN);
}

function print(ref: Reference): string {
  switch (ref.service) {
    case 'ssm': {
      const selector =
        ref.version !== undefined ? `:${ref.version}` : ref.label !== undefined ? `:${ref.label}` : '';
      return `${OPEN}${ref.secure ? 'ssm-secure' : 'ssm'}:${ref.name}${selector}${CLOSE}`;
    }
    case 'secretsmanager': {
      const opt = [ref.jsonKey ?? '', ref.versionStage ?? '', ref.versionId ?? ''];
      while (opt.length > 0 && opt[opt.length - 1] === '') opt.pop();
      const tail = opt.length > 0 ? `:SecretString:${opt.join(':')}` : '';
      return `${OPEN}secretsmanager:${ref.secretId}${tail}${CLOSE}`;
    }
    case 'kms': {
      const ctx = ref.context;
      let tail = '';
      if (ctx !== undefined) {
        if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx))
          throw invalid('context must be an object');
        const items = Object.keys(ctx)
          .sort()
          .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(ctx[k] as string)}`);
        tail = `:${items.join(',')}`;
      }
      return `${OPEN}kms:${ref.ciphertext}${tail}${CLOSE}`;
    }
    default:
      throw invalid(`unknown service ${quote(String((ref as { service: unknown }).service), 40)}`);
  }
}

/** The first field in which `a` and `b` differ, or undefined. */
function difference(a: Reference, b: Reference): string | undefined {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const fields =
    b.service === 'ssm'
      ? ['name', 'secure', 'version', 'label']
      : b.service === 'secretsmanager'
        ? ['secretId', 'jsonKey', 'versionStage', 'versionId']
        : ['ciphertext'];
  for (const f of ['service', ...fields]) if (!Object.is(x[f], y[f])) return f;
  if (b.service === 'kms') {
    const ca = x.context as Record<string, unknown> | undefined;
    const cb = b.context;
    if (ca === undefined || cb === undefined) return ca === cb ? undefined : 'context';
    const ka = Object.keys(ca);
    if (ka.length !== Object.keys(cb).length) return 'context';
    for (const k of ka) if (!Object.hasOwn(cb, k) || ca[k] !== cb[k]) return 'context';
  }
  return undefined;
}

/**
 * The canonical printed form of a reference. `parseReference(formatReference(r))` deep-equals `r`
 * for every `r` this accepts; a reference object that would not survive the round trip (an empty
 * name, both version and label, a `:` in a JSON key, …) throws `INVALID_INPUT`.
 */
export function formatReference(ref: Reference): string {
  if (typeof ref !== 'object' || ref === null) throw invalid('a reference must be an object');
  let text: string;
  let back: Reference;
  try {
    text = print(ref);
    back = parseReference(text);
  } catch (err) {
    if (err instanceof StrataError && err.code === 'INVALID_INPUT') throw err;
    const reason =
      err instanceof StrataError ? err.message.replace(/^invalid reference at \d+: /, '') : String(err);
    throw invalid(reason);
  }
  const diff = difference(ref, back);
  if (diff !== undefined) throw invalid(`field '${diff}' of the ${ref.service} reference is not valid`);
  return text;
}

/**
 * Prints template parts back to a string, escaping literal `<<resolve:` in text parts (see the
 * header), so that `parseTemplate(formatTemplate(parts))` gives the same texts and references
 * (adjacent text parts merged, empty ones dropped). References are printed canonically; `raw`,
 * `start` and `end` are ignored.
 */
export function formatTemplate(parts: TemplatePart[]): string {
  const out: string[] = [];
  let pending = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      if (typeof part.text !== 'string')
        throw new StrataError('INVALID_INPUT', 'template text part must be a string');
      pending += part.text;
    } else if (part.kind === 'ref') {
      out.push(escapeText(pending, true), formatReference(part.ref));
      pending = '';
    } else {
      throw new StrataError(
        'INVALID_INPUT',
        `unknown template part kind ${quote(String((part as { kind: unknown }).kind), 40)}`,
      );
    }
  }
  out.push(escapeText(pending, false));
  return out.join('');
}

function escapeText(text: string, beforeRef: boolean): string {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    const j = text.indexOf(OPEN, i);
    if (j < 0) break;
    let k = j;
    while (k > i && text.charCodeAt(k - 1) === 0x5c) k--;
    out.push(text.slice(i, k), '\\'.repeat(2 * (j - k) + 1), OPEN);
    i = j + OPEN.length;
  }
  let tail = text.slice(i);
  if (beforeRef) {
    let k = tail.length;
    while (k > 0 && tail.charCodeAt(k - 1) === 0x5c) k--;
    tail = tail.slice(0, k) + '\\'.repeat(2 * (tail.length - k));
  }
  out.push(tail);
  return out.join('');
}

/**
 * A stable identity for caching and de-duplication: the canonical printed form (encryption
 * context keys sorted; an empty context is the same as none). Throws `INVALID_INPUT` like
 * `formatReference`.
 */
export function referenceKey(ref: Reference): string {
  if (ref?.service === 'kms' && ref.context !== undefined && Object.keys(ref.context).length === 0) {
    return formatReference({ service: 'kms', ciphertext: ref.ciphertext });
  }
  return formatReference(ref);
}
