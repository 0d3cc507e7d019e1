import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, freePort, PrerequisiteError, type Spawned, spawnServer, waitFor } from './util.js';

/** moto's standalone server, pinned. Installed into a virtualenv in the cache on first use. */
export const MOTO_VERSION = '5.2.5';

export function motoVenv(): string {
  return join(cacheDir(), `moto-${MOTO_VERSION}-venv`);
}

/** Ensures `moto_server` is installed (pip into a cached virtualenv) and returns its path. */
export function ensureMoto(log: (msg: string) => void = () => {}): string {
  const venv = motoVenv();
  const bin = join(venv, 'bin', 'moto_server');
  if (existsSync(bin)) return bin;
  const python = process.env.PYTHON ?? 'python3';
  try {
    execFileSync(python, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new PrerequisiteError(
      `Python 3 is required to run moto (the AWS emulator) for integration tests, and '${python}' was not found. ` +
        'Install Python 3 with pip and venv (e.g. `apt-get install python3 python3-venv python3-pip`), or set PYTHON.',
    );
  }
  log(`installing moto[server]==${MOTO_VERSION} into ${venv} (first run only)`);
  mkdirSync(cacheDir(), { recursive: true });
  try {
    execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `moto[server]==${MOTO_VERSION}`], {
      stdio: 'inherit',
    });
  } catch (err) {
    throw new PrerequisiteError(
      `could not install moto[server]==${MOTO_VERSION} with pip into ${venv}: ${(err as Error).message}. ` +
        'Check that python3-venv and pip work and PyPI is reachable.',
    );
  }
  return bin;
}

export interface MotoServer {
  endpoint: string;
  port: number;
  proc: Spawned;
}

export async function startMoto(opts: { workDir: string; log?: (msg: string) => void }): Promise<MotoServer> {
  const bin = ensureMoto(opts.log);
  const port = await freePort();
  const proc = spawnServer({
    name: 'moto',
    command: bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logFile: join(opts.workDir, 'moto.log'),
    // moto's EventBridge -> SQS delivery and ARNs use this account/region.
    env: { MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto server', async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, {
    timeoutMs: 60_000,
    proc,
  });
  return { endpoint, port, proc };
}

/** Resets every moto backend (`POST /moto-api/reset`): call between suites for a clean account. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
}
