/**
 * Reading a file a user named (an env file, a buildspec, a sealed config, a CLI input): one
 * INVALID_INPUT error naming what it is and the path (`env file .env: not found`), never the
 * system's own message.
 */
import { readFileSync } from 'node:fs';
import { StrataError } from '@strata/core';

/** The bytes of `path`; `what` names it in the error (`--from`, `env file`, `sealed file`). */
export function readFileChecked(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : 'not readable';
    throw new StrataError('INVALID_INPUT', `${what} ${path}: ${why}`, { source: path });
  }
}
