/**
 * Core scenario 2 (issue 3): 1,000 keys under one level through a 40 requests/s quota (the proxy's
 * token bucket, refilled before each run) at 20 ms per call. Returns every sample.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { Resolver, type StatsSnapshot } from '@strata/core';
import type { FaultProxy } from '../../test/env/fault-proxy.js';
import { getParametersAllSettled } from './by-hand.js';
import { powertools, strataOptions } from './core-contenders.js';
import { withTimeout } from './guard.js';
import { ms } from './report.js';
import { errorText, now } from './scenario.js';
import { BULK_LEVEL, bulkParams, CREDENTIALS, REGION } from './workload.js';

export const BULK = bulkParams();
const bulkWant = new Map(BULK.map((p) => [p.name, p.value]));

export interface QuotaSample {
  wall: number;
  calls: number;
  ops: Record<string, number>;
  throttled: number;
  failures: number;
  retries?: number;
  error?: string;
}

export interface QuotaRow {
  id: string;
  label: string;
  samples: QuotaSample[];
}

export interface QuotaData {
  reps: number;
  rps: number;
  latencyMs: number;
  keys: number;
  level: string;
  rows: QuotaRow[];
}

interface QuotaContender {
  id: string;
  label: string;
  run(endpoint: string): Promise<{ values: Map<string, string>; stats?: StatsSnapshot; error?: string }>;
}

function strataBulk(id: string, label: string, mode: 'keys' | 'by-path' | 'describe'): QuotaContender {
  return {
    id,
    label,
    async run(endpoint) {
      const r = new Resolver({
        ...strataOptions(endpoint),
        discovery: mode === 'describe' ? 'describe' : 'by-path',
      });
      try {
        const h = await r.loadHierarchy(
          { levels: [BULK_LEVEL] },
          mode === 'keys' ? { keys: BULK.map((p) => p.key!) } : {},
        );
        const values = new Map([...h.entries.values()].map((e) => [e.origin.parameter, e.value]));
        return { values, stats: r.statsSnapshot() };
      } finally {
        r.close();
      }
    },
  };
}

const QUOTA_CONTENDERS: QuotaContender[] = [
  strataBulk('strata-keys', 'Strata, known keys (default rate limit SSM 40/s)', 'keys'),
  strataBulk('strata-path', 'Strata, discovery by path', 'by-path'),
  // `describe` is left out here: moto pages DescribeParameters at 10, so it only adds 100 sequential pages.
  {
    id: 'pt-names',
    label: 'Powertools `getParametersByName` (1,000 names; SDK default retries)',
    async run(endpoint) {
      const pt = powertools(endpoint);
      try {
        const got = await pt.ssm.getParametersByName<string>(
          Object.fromEntries(BULK.map((p) => [p.name, {}])),
          { decrypt: true },
        );
        return {
          values: new Map(Object.entries(got).filter(([k]) => k !== '_errors') as Array<[string, string]>),
        };
      } finally {
        pt.close();
      }
    },
  },
  {
    id: 'raw-all',
    label: 'Raw `SSMClient`, all 100 GetParameters at once, no limiter (SDK default retries)',
    async run(endpoint) {
      const ssm = new SSMClient({ endpoint, region: REGION, credentials: CREDENTIALS });
      try {
        const out = await getParametersAllSettled(ssm, [...bulkWant.keys()]);
        return {
          values: out.values,
          ...(out.firstError ? { error: `${out.failedCalls} calls failed; ${out.firstError}` } : {}),
        };
      } finally {
        ssm.destroy();
      }
    },
  },
];

export async function runQuota(
  proxy: FaultProxy,
  o: {
    reps: number;
    rps: number;
    latencyMs: number;
    runTimeoutMs: number;
    checkMoto: (after: string) => Promise<void>;
    log: (msg: string) => void;
  },
): Promise<QuotaData> {
  o.log(
    `scenario 2: ${QUOTA_CONTENDERS.length} contenders × ${o.reps} repetitions, 1,000 keys, ${o.rps} rps quota`,
  );
  const samples = new Map<string, QuotaSample[]>();
  for (let rep = 0; rep < o.reps; rep++) {
    for (const c of QUOTA_CONTENDERS) {
      proxy.configure({ latencyMs: o.latencyMs, rps: o.rps }); // a full bucket for everyone
      proxy.resetCounts();
      const t0 = now();
      let s: QuotaSample;
      try {
        const out = await withTimeout(c.run(proxy.endpoint), o.runTimeoutMs, c.id);
        let correct = 0;
        for (const [k, v] of bulkWant) if (out.values.get(k) === v) correct++;
        const counts = proxy.counts();
        s = {
          wall: now() - t0,
          calls: counts.total,
          ops: counts.calls,
          throttled: counts.faults.quota ?? 0,
          failures: bulkWant.size - correct,
          ...(out.stats ? { retries: out.stats.retries } : {}),
          ...(out.error ? { error: out.error } : {}),
        };
      } catch (err) {
        await o.checkMoto(c.id);
        const counts = proxy.counts();
        s = {
          wall: now() - t0,
          calls: counts.total,
          ops: counts.calls,
          throttled: counts.faults.quota ?? 0,
          failures: bulkWant.size,
          error: errorText(err),
        };
      }
      samples.set(c.id, [...(samples.get(c.id) ?? []), s]);
      o.log(
        `  ${c.id}: ${ms(s.wall)}, ${s.calls} calls, ${s.throttled} throttled, ${s.failures} failures${s.error ? ` (${s.error})` : ''}`,
      );
    }
  }
  return {
    reps: o.reps,
    rps: o.rps,
    latencyMs: o.latencyMs,
    keys: BULK.length,
    level: BULK_LEVEL,
    rows: QUOTA_CONTENDERS.map((c) => ({ id: c.id, label: c.label, samples: samples.get(c.id)! })),
  };
}
