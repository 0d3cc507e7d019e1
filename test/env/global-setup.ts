/**
 * vitest globalSetup shared by the integration projects. A project lists the components it
 * needs in `provide: { strataEnv: [...] }`. Reuse order: an environment this vitest process
 * already started (env vars), one left running by `npm run env:up`, else start one here and
 * stop it at teardown.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  type Component,
  type EnvState,
  envVars,
  isHealthy,
  readState,
  sharedStateFile,
  startEnv,
  stopEnv,
  writeState,
} from './index.js';

let owned: EnvState | undefined;
let ownedFile: string | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = (project.config.provide?.strataEnv as Component[] | undefined) ?? ['aws'];
  const log = (m: string) => console.log(`[strata-env] ${m}`);

  const candidates: Array<[string, EnvState | undefined]> = [];
  if (process.env.STRATA_TEST_ENV_STATE)
    candidates.push([process.env.STRATA_TEST_ENV_STATE, readState(process.env.STRATA_TEST_ENV_STATE)]);
  if (process.env.STRATA_ENV_REUSE !== '0')
    candidates.push([sharedStateFile(), readState(sharedStateFile())]);
  for (const [file, state] of candidates) {
    if (state && (await isHealthy(state, wanted))) {
      Object.assign(process.env, envVars(state, file));
      return async () => {};
    }
  }
  // Start what is missing, adding to an environment this process started for another project.
  owned = await startEnv({ components: wanted, log, ...(owned ? { into: owned } : {}) });
  ownedFile ??= join(owned.workDir, 'state.json');
  writeState(ownedFile, owned);
  Object.assign(process.env, envVars(owned, ownedFile));
  return async () => {
    if (owned) {
      // tests may have restarted a server (restartApiserverFromState): the file has its new pid
      const s =
        ownedFile && existsSync(ownedFile)
          ? (JSON.parse(readFileSync(ownedFile, 'utf8')) as EnvState)
          : owned;
      owned = undefined;
      ownedFile = undefined;
      await stopEnv(s);
    }
  };
}
