/** Documented exit codes of the `strata` CLI. */
import type { ErrorCode } from '@strata/core';

export const EXIT = {
  OK: 0,
  /** A key, parameter, secret or reference could not be resolved or validated. */
  FAILED: 1,
  /** Bad input: usage, malformed reference, unfilled template variable, missing file. */
  USAGE: 2,
  /** AWS denied access, or a reference inside a value names a sibling branch (REFERENCE_DENIED). */
  ACCESS_DENIED: 3,
  /** AWS unavailable or throttled after retries, or no answer by `--timeout`, or an answer that is not a valid AWS response. */
  UNAVAILABLE: 4,
  /** `put`: a value is too large for Parameter Store (over 8 KB). */
  TOO_LARGE: 5,
  /** `exec`: the command could not be run. */
  CANNOT_EXECUTE: 126,
  /** `exec`: the command was not found. */
  NOT_FOUND: 127,
} as const;

export function exitCodeFor(code: ErrorCode | undefined, issues: Array<{ code: string }> = []): number {
  const codes = new Set([code, ...issues.map((i) => i.code)]);
  if (codes.has('INVALID_INPUT') || codes.has('PARSE_ERROR')) return EXIT.USAGE;
  if (codes.has('ACCESS_DENIED') || codes.has('REFERENCE_DENIED')) return EXIT.ACCESS_DENIED;
  if (codes.has('UNAVAILABLE') || codes.has('THROTTLED') || codes.has('BAD_RESPONSE'))
    return EXIT.UNAVAILABLE;
  return EXIT.FAILED;
}
