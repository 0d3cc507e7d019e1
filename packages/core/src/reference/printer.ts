/** The printers: canonical reference text, templates with escapes, and cache identities. */
import { StrataError } from '../errors.js';
import { invalid, quote } from './diagnostics.js';
import { parseReference } from './parse.js';
import { CLOSE, OPEN, type Reference, type TemplatePart } from './types.js';

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
