/**
 * The scanner's building blocks: character classes (by UTF-16 code unit, no regular expressions)
 * and splitting a range of the input into `:`- or `,`-separated segments that keep their offsets.
 */

export function isWhitespace(c: number): boolean {
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

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** `a-z A-Z 0-9 _ . - /`: SSM parameter names. */
export function isParamChar(c: number): boolean {
  return isAlnum(c) || c === 0x5f || c === 0x2e || c === 0x2d || c === 0x2f;
}

/** `a-z A-Z 0-9 / _ + = . @ -`: Secrets Manager names. */
export function isSecretChar(c: number): boolean {
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
export function isLabelChar(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === 0x2d || c === 0x5f;
}

/** JSON keys, version stages and version ids: anything but whitespace, controls, `:` `<` `>`. */
export function isFreeChar(c: number): boolean {
  return !isWhitespace(c) && !isControl(c) && c !== 0x3a && c !== 0x3c && c !== 0x3e;
}

/** Index of the first character of `text` failing `ok`, or -1. */
export function firstBad(text: string, ok: (c: number) => boolean, from = 0): number {
  for (let i = from; i < text.length; i++) if (!ok(text.charCodeAt(i))) return i;
  return -1;
}

export interface Seg {
  text: string;
  /** Absolute offset in the input. */
  start: number;
}

export function split(input: string, from: number, to: number, sep: string): Seg[] {
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

export function end(seg: Seg): number {
  return seg.start + seg.text.length;
}
