/**
 * Reading the files a command takes: a path, or `-` for stdin (one command reads stdin at most
 * once). Errors are INVALID_INPUT naming the option and the file (exit code 2).
 */
import { StrataError } from '@strata/core';
import { readFileChecked } from '../read-file.js';

let stdinTaken: string | undefined;

/** Reads all of stdin; refuses a terminal (it would wait for Ctrl-D) and a second reader. */
async function readStdin(what: string): Promise<Buffer> {
  if (stdinTaken !== undefined) {
    throw new StrataError('INVALID_INPUT', `${what} -: stdin is already read for ${stdinTaken}; give a file`);
  }
  stdinTaken = what;
  if (process.stdin.isTTY) {
    throw new StrataError('INVALID_INPUT', `${what} -: stdin is a terminal; pipe the input or give a file`);
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The bytes of `file` (`-`: stdin). `what` names the option in errors (`--from`, `env file`). */
export async function readInputBytes(file: string, what: string): Promise<Buffer> {
  if (file === '-') return readStdin(what);
  return readFileChecked(file, what);
}

export async function readInputText(file: string, what: string): Promise<string> {
  return (await readInputBytes(file, what)).toString('utf8');
}

/** For tests that run several commands in one process. */
export function resetStdin(): void {
  stdinTaken = undefined;
}
