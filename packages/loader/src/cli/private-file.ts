import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StrataError } from '@strata/core';

/**
 * Writes plaintext to `path` as a new 0600 file: written beside it under a random name (created
 * exclusively, so nothing else's file or link is reused) and renamed into place, so an existing
 * file's looser mode is never kept. A symbolic link, or anything but a regular file, at `path` is
 * refused (exit 2): following it could put the plaintext somewhere else.
 */
export function writePrivateFile(path: string, text: string): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StrataError('INVALID_INPUT', `--out ${path}: cannot be checked`, { source: path });
    }
  }
  if (st?.isSymbolicLink()) {
    throw new StrataError(
      'INVALID_INPUT',
      `--out ${path} is a symbolic link: refusing to write plaintext through it`,
      {
        source: path,
      },
    );
  }
  if (st && !st.isFile()) {
    throw new StrataError('INVALID_INPUT', `--out ${path} is not a regular file`, { source: path });
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    if (err instanceof StrataError) throw err;
    throw new StrataError(
      'INVALID_INPUT',
      `--out ${path}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        source: path,
      },
    );
  }
}
