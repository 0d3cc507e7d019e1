/**
 * Core scenario 3 (issue 3): a fleet of separate `Resolver`s starting together against the 40
 * requests/s quota, each loading the 200-key tree by path. One run per row.
 */
import { Resolver } from '@strata/core';
// internals measured by the bench, not part of @strata/core's API
import { RateLimiter } from '../../packages/core/src/rate-limit.js';
import { DEFAULT_RETRY } from '../../packages/core/src/retry.js';
import type { FaultProxy } from '../../test/env/fault-proxy.js';
import { expected, strataOptions } from './core-contenders.js';
import { score } from './core-tree.js';
import { withTimeout } from './guard.js';
import { median, ms } from './report.js';
import { now } from './scenario.js';
import { LEVELS } from './workload.js';

/** The most a call can sleep in backoff before it gives up, with the core's default retry policy. */
const MAX_BACKOFF_MS = Array.from({ length: DEFAULT_RETRY.retries }, (_, n) =>
  Math.min(DEFAULT_RETRY.capMs, DEFAULT_RETRY.baseMs * 2 ** n),
).reduce((a, b) => a + b, 0);
/** Whether this core's limiter adapts to throttling (AIMD), rather than a fixed token bucket. */
const ADAPTIVE_LIMITER = typeof (RateLimiter.prototype as { onThrottle?: unknown }).onThrottle === 'function';
const DEFAULT_POLICY =
  `default (${DEFAULT_RETRY.retries} retries, full jitter, base ${DEFAULT_RETRY.baseMs} ms, cap ${DEFAULT_RETRY.capMs / 1000} s; ` +
  `${ADAPTIVE_LIMITER ? 'adaptive' : 'fixed'} SSM limiter 40/s)`;

export interface FleetRow {
  label: string;
  /** For the per-client share row: spread (ms) of the second token grant across the clients' limiters. */
  limiterSpreadMs?: number;
  clients: number;
  ok: number;
  failed: number;
  failureCodes: Record<string, number>;
  /** null when some client failed (never all ready). */
  allReady: number | null;
  p50Ready: number | null;
  lastSettled: number;
  calls: number;
  ops: Record<string, number>;
  throttled: number;
  strataRetries: number;
  strataThrottles: number;
  leaked: number;
}

export interface FleetData {
  clients: number;
  rps: number;
  latencyMs: number;
  adaptiveLimiter: boolean;
  retry: { retries: number; baseMs: number; capMs: number; maxBackoffMs: number };
  rows: FleetRow[];
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

async function fleet(
  proxy: FaultProxy,
  o: { clients: number; rps: number; latencyMs: number; timeoutMs: number; log: (msg: string) => void },
  label: string,
  opts: { retry?: { retries?: number; baseMs?: number; capMs?: number }; ssmRate?: number },
): Promise<FleetRow> {
  o.log(`scenario 3: ${o.clients} clients at once, ${o.rps} rps quota (${label})`);
  proxy.configure({ latencyMs: o.latencyMs, rps: o.rps });
  proxy.resetCounts();
  const want = expected(false);
  const resolvers = Array.from(
    { length: o.clients },
    () =>
      new Resolver({
        aws: {
          ...strataOptions(proxy.endpoint).aws,
          ...(opts.retry ? { retry: opts.retry } : {}),
          ...(opts.ssmRate ? { rateLimits: { ssm: opts.ssmRate } } : {}),
        },
      }),
  );
  const t0 = now();
  const results = await Promise.all(
    resolvers.map(async (r) => {
      try {
        const h = await withTimeout(r.loadHierarchy({ levels: [...LEVELS] }), o.timeoutMs, 'fleet client');
        const values = new Map([...h.entries.values()].map((e) => [e.origin.parameter, e.value]));
        const s = score(values, want);
        return {
          ok: s.correct === want.size,
          t: now() - t0,
          leaked: s.leaked,
          code: s.correct === want.size ? '' : 'INCOMPLETE',
        };
      } catch (err) {
        const e = err as { code?: string; issues?: Array<{ code: string }> };
        const code = e.issues?.[0]?.code ?? e.code ?? 'ERROR';
        return { ok: false, t: now() - t0, leaked: 0, code };
      }
    }),
  );
  const counts = proxy.counts();
  const stats = resolvers.map((r) => r.statsSnapshot());
  for (const r of resolvers) r.close();
  const okTimes = results.filter((x) => x.ok).map((x) => x.t);
  const failureCodes: Record<string, number> = {};
  for (const x of results) if (!x.ok) failureCodes[x.code] = (failureCodes[x.code] ?? 0) + 1;
  const row: FleetRow = {
    label,
    clients: o.clients,
    ok: okTimes.length,
    failed: o.clients - okTimes.length,
    failureCodes,
    allReady: okTimes.length === o.clients ? Math.max(...okTimes) : null,
    p50Ready: finite(median(okTimes)),
    lastSettled: Math.max(...results.map((x) => x.t)),
    calls: counts.total,
    ops: counts.calls,
    throttled: counts.faults.quota ?? 0,
    strataRetries: stats.reduce((n, s) => n + s.retries, 0),
    strataThrottles: stats.reduce((n, s) => n + s.throttles, 0),
    leaked: results.reduce((n, x) => n + x.leaked, 0),
  };
  o.log(
    `  ${row.ok}/${o.clients} ready, all ready ${ms(row.allReady ?? Number.NaN)}, last settled ${ms(row.lastSettled)}, ${row.calls} calls, ${row.throttled} throttled`,
  );
  return row;
}

/**
 * Creates `n` of Strata's RateLimiters at once (as a fleet starting together does) and returns how
 * far apart, in ms, they grant their second token: near 0 means they fire in lock-step.
 */
async function limiterSpread(n: number, rps: number): Promise<number> {
  const t0 = now();
  const limiters = Array.from({ length: n }, () => new RateLimiter(rps));
  const second = await Promise.all(
    limiters.map(async (l) => {
      await l.acquire();
      await l.acquire();
      return now() - t0;
    }),
  );
  return Math.max(...second) - Math.min(...second);
}

/** The default fleet, plus (BENCH_FLEET_VARIANTS=1, only when the default fails) the two variants. */
export async function runFleet(
  proxy: FaultProxy,
  o: {
    clients: number;
    rps: number;
    latencyMs: number;
    timeoutMs: number;
    variants: boolean;
    checkMoto: (after: string) => Promise<void>;
    log: (msg: string) => void;
  },
): Promise<FleetData> {
  const rows: FleetRow[] = [await fleet(proxy, o, DEFAULT_POLICY, {})];
  await o.checkMoto('scenario 3');
  if (rows[0]!.failed > 0 && o.variants) {
    // what a user can configure today: a bigger retry budget, or a per-client share of the quota
    rows.push(
      await fleet(proxy, o, 'patient retry (`retry: { retries: 12, capMs: 10000 }`)', {
        retry: { retries: 12, capMs: 10_000 },
      }),
    );
    const share = Math.round(((o.rps * 0.9) / o.clients) * 1000) / 1000;
    const spread = await limiterSpread(o.clients, share);
    const label = `per-client share of the quota (\`rateLimits: { ssm: ${share} }\` = 90% of ${o.rps}/${o.clients}), default retry`;
    rows.push({ ...(await fleet(proxy, o, label, { ssmRate: share })), limiterSpreadMs: spread });
    await o.checkMoto('scenario 3 (variants)');
  }
  return {
    clients: o.clients,
    rps: o.rps,
    latencyMs: o.latencyMs,
    adaptiveLimiter: ADAPTIVE_LIMITER,
    retry: { ...DEFAULT_RETRY, maxBackoffMs: MAX_BACKOFF_MS },
    rows,
  };
}
