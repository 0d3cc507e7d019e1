/**
 * The grammar of one reference body, `TYPE:SEGMENT:…` between `<<resolve:` and `>>`: one parser
 * per reference type (ssm, ssm-secure, secretsmanager, kms), and `parseAt`, which picks one.
 */
import { parameterName } from '../aws/arn.js';
import { fail, shown, type Where } from './diagnostics.js';
import { end, isAlnum, isDigit, isFreeChar, isSecretChar, isWhitespace, type Seg, split } from './lexer.js';
import {
  checkArnHead,
  checkChars,
  checkParamName,
  PARAMETER_NAME_MAX,
  parseVersion,
  SECRET_ID_MAX,
  SECRET_NAME_MAX,
  SM_REFERENCE_PREFIX,
  STAGE_MAX,
} from './names.js';
import {
  CLOSE,
  type KmsReference,
  OPEN,
  type ParseOrigin,
  type Reference,
  type SecretsManagerReference,
  type SsmReference,
} from './types.js';

const TYPES = 'expected ssm, ssm-secure, secretsmanager or kms';
const SM_SHAPE = 'SECRET-ID[:SecretString[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]]';

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
export function knownTypeEnd(input: string, from: number, to: number): number {
  for (const t of KNOWN_TYPES) if (from + t.length <= to && input.startsWith(t, from)) return from + t.length;
  return from;
}

/** Parses the reference whose `<<` is at `start` and whose closing `>>` is at `closeAt`. */
export function parseAt(input: string, start: number, closeAt: number, origin?: ParseOrigin): Reference {
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
