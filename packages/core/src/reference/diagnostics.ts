/**
 * How the reference parser and printers fail. A parse error echoes only the part of the reference
 * that passed validation, and nothing at all for text that came from a source (see "Errors" in
 * `./parser.ts`).
 */
import { StrataError } from '../errors.js';
import type { ParseOrigin } from './types.js';

const ECHO_MAX = 80;

/** Where the reference being parsed sits in the input, for the message's echo. */
export interface Where {
  input: string;
  start: number;
  end: number;
  /** Offset up to which the reference passed validation: the echo never goes past it. */
  shown: number;
  origin?: ParseOrigin | undefined;
}

/** Quotes user text for a message: control characters escaped, long text truncated. */
export function quote(text: string, max = ECHO_MAX): string {
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
export function fail(w: Where, position: number, reason: string): never {
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
export function shown(w: Where, end: number): void {
  if (end > w.shown) w.shown = end;
}

export function invalid(reason: string): StrataError {
  return new StrataError('INVALID_INPUT', `cannot format reference: ${reason}`);
}
