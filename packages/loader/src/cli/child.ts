/**
 * `strata exec`: run a command with the resolved environment; exit code and signals pass through,
 * with a shell's conventions: 128+N when the child dies of signal N (any signal, numbered as
 * this platform numbers them), 127 when the command is not found, 126 when it is found but cannot
 * be run (not executable, a directory, a binary of another format, a script whose interpreter is
 * missing).
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, join } from 'node:path';
import { EXIT } from './exit-codes.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** A shell's exit status for a process killed by `signal`: 128 + its number here. */
function exitCodeForSignal(signal: NodeJS.Signals | string): number {
  const n = (os.signals as Record<string, number | undefined>)[signal];
  return 128 + (n ?? 0);
}

/** The file `cmd` runs (a path as given, else the first match on PATH), if there is one. */
function findCommand(cmd: string, path: string | undefined): string | undefined {
  const exists = (f: string) => {
    try {
      statSync(f);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return exists(cmd) ? cmd : undefined;
  const candidates = (path ?? '')
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => join(d, cmd))
    .filter(exists);
  // as a shell: the first executable match; else the first match (then reported as not executable)
  const executable = candidates.find((f) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
  return executable ?? candidates[0];
}

/**
 * Why `file` cannot be run, or undefined when it can be tried. A shell refuses a binary file it
 * cannot execute (126) rather than running it as a script; Node would hand it to /bin/sh.
 */
function cannotRun(file: string): string | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return 'is a directory';
  if (!st.isFile()) return 'is not a regular file';
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'permission denied (not executable)';
  }
  const head = Buffer.alloc(128);
  let n = 0;
  try {
    const fd = openSync(file, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'permission denied (not readable)';
  }
  const bytes = head.subarray(0, n);
  if (bytes.subarray(0, 2).toString('latin1') === '#!') return undefined;
  const native =
    n >= 4 &&
    (bytes.subarray(0, 4).toString('latin1') === '\x7fELF' ||
      [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(bytes.readUInt32BE(0)));
  if (native) return undefined;
  // no #! and not a native binary: a shell runs text as a shell script, and refuses binary data
  if (bytes.includes(0)) return 'cannot execute binary file: exec format error';
  return undefined;
}

export function runChild(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const file = findCommand(cmd, env.PATH);
    const why = file ? cannotRun(file) : undefined;
    if (why) {
      process.stderr.write(`strata exec: cannot run '${cmd}': ${why}\n`);
      resolve(EXIT.CANNOT_EXECUTE);
      return;
    }
    const child = spawn(cmd, args, { env, stdio: 'inherit' });
    const handlers = FORWARDED.map((sig) => {
      const h = () => child.kill(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    const done = (code: number) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // ENOENT for a file that exists: its interpreter (#!) or loader is missing — a shell says 126
      const missing = err.code === 'ENOENT' && !file;
      const reason = missing
        ? 'command not found'
        : err.code === 'ENOENT'
          ? 'its interpreter (#! line) or loader was not found'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
      process.stderr.write(`strata exec: cannot run '${cmd}': ${reason}\n`);
      done(missing ? EXIT.NOT_FOUND : EXIT.CANNOT_EXECUTE);
    });
    child.on('exit', (code, signal) => {
      // a shell's convention (128+N); strata does not kill itself with the child's signal, which
      // could dump its own core or be caught by its own handlers
      if (signal) done(exitCodeForSignal(signal));
      else done(code ?? 0);
    });
  });
}
