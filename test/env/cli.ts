/**
 * Keep the test environment running between test runs:
 *   npm run env:up       start moto + Kubernetes (+ helm) and leave them running
 *   npm run env:status   show endpoints
 *   npm run env:down     stop everything and remove the temporary directory
 * vitest finds the running environment through its state file and reuses it.
 */
import { rmSync } from 'node:fs';
import {
  type Component,
  envVars,
  isHealthy,
  readState,
  sharedStateFile,
  startEnv,
  stopEnv,
  writeState,
} from './index.js';
import { PrerequisiteError } from './util.js';

async function main(): Promise<number> {
  const [cmd = 'status', ...rest] = process.argv.slice(2);
  const file = sharedStateFile();
  const components: Component[] = rest.length > 0 ? (rest as Component[]) : ['aws', 'kube'];
  switch (cmd) {
    case 'up': {
      const running = readState(file);
      if (running && (await isHealthy(running, components))) {
        console.log(`already running (state: ${file})`);
        return 0;
      }
      if (running) await stopEnv(running);
      const state = await startEnv({ components, log: (m) => console.log(`[strata-env] ${m}`) });
      writeState(file, state);
      console.log(`environment up; state in ${file}. Tests reuse it until \`npm run env:down\`.`);
      for (const [k, v] of Object.entries(envVars(state, file))) console.log(`export ${k}=${v}`);
      return 0;
    }
    case 'down': {
      const state = readState(file);
      if (state) await stopEnv(state);
      rmSync(file, { force: true });
      console.log(state ? 'environment stopped' : 'no environment running');
      return 0;
    }
    case 'status': {
      const state = readState(file);
      if (!state) {
        console.log('no environment running (npm run env:up)');
        return 1;
      }
      console.log(
        JSON.stringify(
          {
            healthy: await isHealthy(state, components),
            ...state,
            kube: state.kube && { server: state.kube.server, kubeconfig: state.kube.kubeconfig },
          },
          null,
          2,
        ),
      );
      return 0;
    }
    default:
      console.error('usage: tsx test/env/cli.ts up|down|status [aws] [kube]');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof PrerequisiteError ? `error: ${err.message}` : err);
    process.exit(err instanceof PrerequisiteError ? 3 : 1);
  },
);
