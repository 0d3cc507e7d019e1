/**
 * @strata/core benchmark (issue 3). Starts its own moto, puts the fault proxy in front of it, and
 * measures Strata, Powertools Parameters and a hand-written floor on the same work in the same run:
 * scenario 1 (`lib/core-tree.ts`), 2 (`lib/core-quota.ts`) and 3 (`lib/core-fleet.ts`). Writes
 * `results/core.json`; `lib/tables/core.ts` renders it into RESULTS.md. No timing assertions.
 *
 *   npx tsx --conditions=strata-source bench/core.ts      (from the repository root)
 *
 * Environment: BENCH_REPS (scenario 1, default 5), BENCH_REPS_QUOTA (scenario 2, default 3),
 * BENCH_FLEET (scenario 3 clients, default 100), BENCH_FLEET_VARIANTS=1 (two more fleet rows when the
 * default one fails; ~4 more minutes), BENCH_SCENARIOS (e.g. "1,2", default all),
 * BENCH_NO_WRITE=1 (print the JSON only).
 */
import type { FaultProxy } from '../test/env/fault-proxy.js';
import { startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { PROD, SECRETS, STRATA_CONCURRENCY, TREE } from './lib/core-contenders.js';
import { type FleetData, runFleet } from './lib/core-fleet.js';
import { BULK, type QuotaData, runQuota } from './lib/core-quota.js';
import { runTree, type TreeData } from './lib/core-tree.js';
import { assertMotoAlive } from './lib/guard.js';
import { ms } from './lib/report.js';
import { isMain, now, runScenario, type Scenario } from './lib/scenario.js';
import { refParams, seedParams, seedSecrets } from './lib/workload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface CoreData {
  tree?: TreeData;
  quota?: QuotaData;
  fleet?: FleetData;
}

const env = process.env;
const P = {
  reps: Number(env.BENCH_REPS ?? 5),
  repsQuota: Number(env.BENCH_REPS_QUOTA ?? 3),
  fleet: Number(env.BENCH_FLEET ?? 100),
  fleetVariants: env.BENCH_FLEET_VARIANTS === '1',
  scenarios: (env.BENCH_SCENARIOS ?? '1,2,3').split(',').map((s) => s.trim()),
  latencyMs: 20,
  quotaRps: 40,
  /** A run not settled by then is recorded as BENCH_TIMEOUT (scenario 2: twice that). */
  runTimeoutMs: Number(env.BENCH_RUN_TIMEOUT_MS ?? 60_000),
  fleetTimeoutMs: Number(env.BENCH_FLEET_TIMEOUT_MS ?? 240_000),
  strataConcurrency: STRATA_CONCURRENCY ?? 'default',
  powertools: '2.35.0',
};

export const core: Scenario<CoreData> = {
  name: 'core',
  params: P,
  motoPython: `${motoVenv()}/bin/python`,
  motoPinned: MOTO_VERSION,
  async run(log) {
    let e: EnvState | undefined;
    let proxy: FaultProxy | undefined;
    try {
      log('starting moto');
      e = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
      const envState = e;
      const checkMoto = (after: string) => assertMotoAlive(envState, after);
      const moto = e.aws!.endpoint;
      const tSeed = now();
      await Promise.all([seedParams(moto, [...TREE, ...PROD, ...refParams()]), seedSecrets(moto, SECRETS)]);
      log(
        `seeded ${TREE.length + PROD.length + refParams().length} parameters and ${SECRETS.length} secrets in ${ms(now() - tSeed)}`,
      );
      proxy = await startFaultProxy(moto);
      const out: CoreData = {};
      const common = { latencyMs: P.latencyMs, checkMoto, log };
      if (P.scenarios.includes('1')) {
        out.tree = await runTree(proxy, { ...common, reps: P.reps, runTimeoutMs: P.runTimeoutMs });
        await checkMoto('scenario 1');
      }
      if (P.scenarios.includes('2')) {
        const t = now();
        await seedParams(moto, BULK);
        log(`seeded ${BULK.length} parameters in ${ms(now() - t)}`);
        out.quota = await runQuota(proxy, {
          ...common,
          reps: P.repsQuota,
          rps: P.quotaRps,
          runTimeoutMs: 2 * P.runTimeoutMs,
        });
        await checkMoto('scenario 2');
      }
      if (P.scenarios.includes('3')) {
        out.fleet = await runFleet(proxy, {
          ...common,
          clients: P.fleet,
          rps: P.quotaRps,
          timeoutMs: P.fleetTimeoutMs,
          variants: P.fleetVariants,
        });
      }
      return out;
    } finally {
      await proxy?.stop();
      if (e) {
        log('stopping moto');
        await stopEnv(e);
      }
    }
  },
};

if (isMain(import.meta.url)) await runScenario(core);
