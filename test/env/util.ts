import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Cache for things built or installed once per machine (outside the repository). */
export function cacheDir(): string {
  return process.env.STRATA_CACHE_DIR ?? join(homedir(), '.cache', 'strata');
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** An error for a missing prerequisite: says what is missing and how to install it. */
export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

export interface Spawned {
  pid: number;
  name: string;
  logFile: string;
  child: ChildProcess;
}

/**
 * Starts a server process in its own process group (so it can be stopped by PID, with its
 * children), logging to a file. `detached` lets `env:up` leave it running after the CLI exits.
 */
export function spawnServer(opts: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): Spawned {
  // The log file is the child's own stdout/stderr (not a pipe through us), so the server keeps
  // running and logging after the process that started it exits (`npm run env:up`).
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
  return { pid: child.pid, name: opts.name, logFile: opts.logFile, child };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group started by spawnServer: SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!isAlive(pid)) return;
  kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  kill('SIGKILL');
  for (let i = 0; i < 40 && isAlive(pid); i++) await sleep(50);
}

/** Polls `check` until it returns true; fails with the process log's tail if `proc` dies or time runs out. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; proc?: Spawned },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (opts.proc && opts.proc.child.exitCode !== null) {
      throw new Error(
        `${what}: process exited with code ${opts.proc.child.exitCode}; log: ${opts.proc.logFile}`,
      );
    }
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(
    `${what}: not ready after ${opts.timeoutMs} ms${opts.proc ? `; log: ${opts.proc.logFile}` : ''}`,
  );
}

export function requireFile(path: string, hint: string): void {
  if (!existsSync(path)) throw new PrerequisiteError(`${path} is missing. ${hint}`);
}
