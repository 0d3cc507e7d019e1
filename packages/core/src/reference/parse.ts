/** The public parsers: one reference, a template of text and references, and a cheap check. */
import { StrataError } from '../errors.js';
import { fail, type Where } from './diagnostics.js';
import { knownTypeEnd, parseAt } from './grammar.js';
import {
  CLOSE,
  OPEN,
  type ParseOptions,
  type ParseOrigin,
  type Reference,
  type TemplatePart,
} from './types.js';

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
