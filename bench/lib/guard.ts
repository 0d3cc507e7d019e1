/** Guards for the moto-backed scenarios: a per-run deadline, and a check that moto still answers. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvState } from '../../test/env/index.js';

class BenchTimeout extends Error {
  readonly code = 'BENCH_TIMEOUT';
}

/** Rejects with BENCH_TIMEOUT when `p` has not settled after `ms` (a hung load must not hang the benchmark). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchTimeout(`${what} had not settled after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Throws (and so no results are written) when moto stopped answering: a run against a dead moto
 * measures the proxy's error path, not the contenders.
 */
export async function assertMotoAlive(env: EnvState | undefined, after: string): Promise<void> {
  if (!env) return;
  let ok = false;
  try {
    ok = (await fetch(`${env.aws!.endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    /* not answering */
  }
  if (ok) return;
  const pid = env.pids.moto;
  let alive = false;
  try {
    if (pid !== undefined) process.kill(pid, 0);
    alive = pid !== undefined;
  } catch {
    /* gone */
  }
  const logFile = join(env.workDir, 'moto.log');
  const tail = existsSync(logFile)
    ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
    : '(no log)';
  throw new Error(
    `moto (pid ${pid}) stopped answering during ${after} (${alive ? 'the process is still there' : 'the process is gone: killed from outside?'}); ` +
      `the figures are void and no results were written. Last lines of moto.log:\n${tail}`,
  );
}
