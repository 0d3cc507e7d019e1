/**
 * Core scenario 1 (issue 3): every contender of `core-contenders.ts` loads the 200-key tree, alone
 * and with the 50 references, at 20 ms per call; repetitions interleaved after a discarded warm-up.
 * Returns every sample; `tables/core.ts` summarises them.
 */
import type { FaultProxy } from '../../test/env/fault-proxy.js';
import { CONTENDERS, type Contender, expected, type RunOut } from './core-contenders.js';
import { withTimeout } from './guard.js';
import { total } from './report.js';
import { errorText, now } from './scenario.js';
import { LEAK_MARKER, PROD_PATH } from './workload.js';

/**
 * Lower bound on AWS calls, from the API limits alone:
 * - the 200 tree keys: ceil(200/10) = 20 GetParameters (keys known), or 2 + 6 + 12 = 20
 *   GetParametersByPath pages of 10 (/acme 20 direct children, /acme/shop 60, /acme/shop/dev 120);
 * - the 50 references: 1 BatchGetSecretValue (20 secrets), plus GetParameters per depth:
 *   ceil(15/10) = 2 at depth 1 (10 outer + 5 tokens) and ceil(10/10) = 1 at depth 2 (inner).
 */
const LOWER_BOUND = { tree: 20, refs: 4 };

export interface TreeSample {
  wall: number;
  calls: Record<string, number>;
  strataCalls?: Record<string, number>;
  values: number;
  raw: number;
  correct: number;
  leaked: number;
  ignored: number;
  error?: string;
}

export interface TreeRow {
  id: string;
  label: string;
  strata: boolean;
  withRefs: boolean;
  samples: TreeSample[];
}

export interface TreeData {
  reps: number;
  latencyMs: number;
  lowerBound: { tree: number; refs: number };
  /** Values a correct load returns: without / with the references. */
  expected: { tree: number; withRefs: number };
  rows: TreeRow[];
}

export function score(values: Map<string, string>, want: Map<string, string>) {
  let correct = 0;
  for (const [k, v] of want) if (values.get(k) === v) correct++;
  const leakedNames = new Set<string>();
  for (const [k, v] of values) {
    if (k.startsWith(`${PROD_PATH}/`) || v.includes(LEAK_MARKER)) leakedNames.add(k);
  }
  return { correct, leaked: leakedNames.size };
}

interface TreeOptions {
  reps: number;
  latencyMs: number;
  runTimeoutMs: number;
  /** Called after a failed run: throws when moto itself died. */
  checkMoto: (after: string) => Promise<void>;
  log: (msg: string) => void;
}

async function measure(
  proxy: FaultProxy,
  c: Contender,
  withRefs: boolean,
  o: TreeOptions,
): Promise<TreeSample> {
  proxy.configure({ latencyMs: o.latencyMs });
  proxy.resetCounts();
  const t0 = now();
  try {
    const out: RunOut = await withTimeout(c.run(proxy.endpoint, withRefs), o.runTimeoutMs, c.id);
    const wall = now() - t0;
    const s = score(out.values, expected(withRefs));
    return {
      wall,
      calls: proxy.counts().calls,
      ...(out.stats ? { strataCalls: out.stats.calls } : {}),
      values: out.values.size,
      raw: out.raw,
      correct: s.correct,
      leaked: s.leaked,
      ignored: out.ignored ?? 0,
    };
  } catch (err) {
    await o.checkMoto(c.id); // a dead moto aborts the benchmark instead of measuring errors
    return {
      wall: now() - t0,
      calls: proxy.counts().calls,
      values: 0,
      raw: 0,
      correct: 0,
      leaked: 0,
      ignored: 0,
      error: errorText(err),
    };
  }
}

export async function runTree(proxy: FaultProxy, o: TreeOptions): Promise<TreeData> {
  o.log(`scenario 1: ${CONTENDERS.length} contenders × 2 variants × ${o.reps} repetitions (+1 warm-up)`);
  for (const c of CONTENDERS) await measure(proxy, c, true, o); // warm-up, discarded
  const samples = new Map<string, TreeSample[]>();
  for (let rep = 0; rep < o.reps; rep++) {
    for (const withRefs of [false, true]) {
      // interleaved, so drift in moto or the machine spreads over every contender
      for (const c of CONTENDERS) {
        const s = await measure(proxy, c, withRefs, o);
        const key = `${c.id}|${withRefs}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        if (s.error) o.log(`  ${c.id}${withRefs ? '+refs' : ''}: ERROR ${s.error}`);
        if (s.strataCalls && total(s.strataCalls) !== total(s.calls)) {
          o.log(`  ${c.id}: Strata counted ${total(s.strataCalls)} calls, the proxy ${total(s.calls)}`);
        }
      }
    }
    o.log(`  repetition ${rep + 1}/${o.reps} done`);
  }
  const rows: TreeRow[] = [];
  for (const withRefs of [false, true]) {
    for (const c of CONTENDERS) {
      rows.push({
        id: c.id,
        label: c.label,
        strata: c.strata,
        withRefs,
        samples: samples.get(`${c.id}|${withRefs}`)!,
      });
    }
  }
  return {
    reps: o.reps,
    latencyMs: o.latencyMs,
    lowerBound: LOWER_BOUND,
    expected: { tree: expected(false).size, withRefs: expected(true).size },
    rows,
  };
}
