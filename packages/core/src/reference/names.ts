/**
 * AWS's naming rules for what a reference names: parameter names and ARNs, labels, versions,
 * secret ids (see "Names" in `./parser.ts`). Each check fails with a positioned parse error.
 */
import { fail, type Where } from './diagnostics.js';
import { firstBad, isDigit, isLabelChar, isParamChar, isSecretChar, type Seg } from './lexer.js';

const LABEL_MAX = 100;
/** AWS: the fully qualified parameter name, ARN included, is at most 1,011 characters. */
export const PARAMETER_NAME_MAX = 1011;
/** AWS: at most 15 levels in a parameter hierarchy. */
export const PARAMETER_DEPTH_MAX = 15;
/** AWS: a secret name is at most 512 characters; a secret id (an ARN) at most 2,048. */
export const SECRET_NAME_MAX = 512;
export const SECRET_ID_MAX = 2048;
export const STAGE_MAX = 256;
/** Namespaces under the reserved `/aws` prefix that can be read. */
const READABLE_AWS_PREFIXES = ['/aws/service/', '/aws/reference/secretsmanager/'];
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov']);
export const SM_REFERENCE_PREFIX = '/aws/reference/secretsmanager/';

export function checkChars(w: Where, seg: Seg, ok: (c: number) => boolean, what: string, from = 0): void {
  const bad = firstBad(seg.text, ok, from);
  if (bad >= 0) fail(w, seg.start + bad, `invalid character in ${what}`);
}

function checkRegion(w: Where, seg: Seg): void {
  const ok = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
  if (seg.text === '' || firstBad(seg.text, ok) >= 0) {
    fail(w, seg.start, 'invalid region in ARN');
  }
}

export function checkArnHead(w: Where, segs: Seg[], service: string): void {
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

/** Validates an SSM parameter name (without the ARN wrapper); `seg.text.slice(from)` is the name. */
export function checkParamName(w: Where, seg: Seg, from: number): void {
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

export function parseVersion(w: Where, seg: Seg, stage = false): { version: number } | { label: string } {
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
