/** Prometheus metrics (prom-client, own registry). Labels never carry values; source ids only where bounded. */
import type { StatsSnapshot } from '@strata/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Read when Prometheus scrapes, so the reconcile path does no metrics bookkeeping for them. */
export interface MetricSources {
  stats?: () => StatsSnapshot;
  queueDepth?: () => number;
}

export function createMetrics(sources: MetricSources = {}) {
  const registry = new Registry();
  const m = {
    registry,
    reconciles: new Counter({
      name: 'strata_reconcile_total',
      help: 'Reconciles by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'strata_reconcile_errors_total',
      help: 'Failed reconciles by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'strata_reconcile_duration_seconds',
      help: 'Reconcile duration',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    awsCalls: new Gauge({
      name: 'strata_aws_calls_total',
      help: 'AWS calls by operation (counter semantics, read from the resolver)',
      labelNames: ['operation'],
      registers: [registry],
      collect() {
        for (const [op, n] of Object.entries(sources.stats?.().calls ?? {})) this.set({ operation: op }, n);
      },
    }),
    cacheHits: new Gauge({
      name: 'strata_cache_hits_total',
      help: 'Resolver cache hits',
      registers: [registry],
      collect() {
        this.set(sources.stats?.().cache.hits ?? 0);
      },
    }),
    cacheMisses: new Gauge({
      name: 'strata_cache_misses_total',
      help: 'Resolver cache misses',
      registers: [registry],
      collect() {
        this.set(sources.stats?.().cache.misses ?? 0);
      },
    }),
    queueDepth: new Gauge({
      name: 'strata_queue_depth',
      help: 'Keys waiting in the work queue',
      registers: [registry],
      collect() {
        this.set(sources.queueDepth?.() ?? 0);
      },
    }),
    eventLag: new Histogram({
      name: 'strata_event_to_sync_seconds',
      help: 'Time from a rotation event to the updated Secret',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    events: new Counter({
      name: 'strata_events_total',
      help: 'Rotation events by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    kubeEvents: new Counter({
      name: 'strata_kube_events_total',
      help: 'Kubernetes Events about SecretSyncs, by result: created, updated (count raised), suppressed (over the per-object budget), failed',
      labelNames: ['result'],
      registers: [registry],
    }),
    secretWrites: new Counter({
      name: 'strata_secret_writes_total',
      help: 'Secret writes by action',
      labelNames: ['action'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'strata_source_last_success_timestamp_seconds',
      help: 'Last successful sync per SecretSync',
      labelNames: ['namespace', 'name'],
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'strata_refreshes_total',
      help: 'Periodic refreshes (sources re-read from AWS in one batch), by refresh interval',
      labelNames: ['interval'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'strata_leader', help: '1 when this instance leads', registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
