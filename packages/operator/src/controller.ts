/**
 * The Strata operator's control loop: informers → work queue → reconcile (reconcile.ts), plus
 * the periodic batched refresh and rotation events. One shared resolver for every resource, so
 * AWS calls scale with distinct sources; the controller only ever invalidates its own sources
 * in it (never `clear()`: the resolver may be shared with the application).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { buildLevels, type Resolver, secretName } from '@strata/core';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { existingHash } from './desired.js';
import { errMessage } from './errors.js';
import { Informers, keyOf, type SecretLike } from './informers.js';
import { type KubeClient, kubeClient } from './kube.js';
import type { Metrics } from './metrics.js';
import { deniedSources, grantsFor, hierarchyInput, sourcesOf } from './policy.js';
import { WorkQueue } from './queue.js';
import { Reconciler, Tracking } from './reconcile.js';
import { EventRecorder } from './recorder.js';
import { RefreshScheduler } from './refresh.js';
import { type SecretSync, SYNC_LABEL } from './types.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  resolver: Resolver;
  logger: Logger;
  metrics: Metrics;
  /** Reconciles at once. Default 16. */
  concurrency?: number;
  /** Refresh interval when a spec gives none. Default 1h. */
  defaultRefreshMs?: number;
  /** ± jitter on periodic refresh, as a fraction. Default 0.1. */
  jitter?: number;
  /** Called when a periodic refresh fails as a whole (it is retried at its next turn). */
  onRefreshError?: (err: unknown) => void;
  /** Delay before an informer restarts after an error. Default 1s (doubling to 30s). */
  informerRestartMs?: number;
  /** Watch only these namespaces (namespaced RBAC mode). Default: all namespaces. */
  namespaces?: string[];
  /** The Kubernetes client for writes and uncached reads. Default: one over `kubeConfig`. */
  kube?: KubeClient;
  clock?: Clock;
}

/** What a set of SecretSyncs reads: to re-read from AWS in one batch, and to drop from the cache first. */
interface FetchPlan {
  /** The SecretSyncs allowed by policy (the others make no AWS call). */
  keys: string[];
  params: Set<string>;
  /** Hierarchy levels listed by path (path → recursive). */
  paths: Map<string, boolean>;
  secrets: Set<string>;
  /** Every source id to drop from the cache before a refresh (names, paths, secret ids). */
  drop: Set<string>;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly refresher: RefreshScheduler;
  private readonly tracking = new Tracking();
  private readonly informers: Informers;
  private readonly reconciler: Reconciler;
  private readonly clock: Clock;
  private generations = new Map<string, number>();

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? systemClock;
    const kube = o.kube ?? kubeClient(o.kubeConfig);
    this.informers = new Informers({
      kubeConfig: o.kubeConfig,
      kube,
      logger: o.logger,
      clock: this.clock,
      ...(o.namespaces ? { namespaces: o.namespaces } : {}),
      ...(o.informerRestartMs !== undefined ? { restartMs: o.informerRestartMs } : {}),
      handlers: {
        syncChanged: (s) => this.onSync(s),
        syncDeleted: (s) => this.onSyncDelete(s),
        policiesChanged: () => this.requeue(this.informers.syncKeys()),
        secretChanged: (sec, deleted) => this.onSecret(sec, deleted),
        namespaceLabelsChanged: (ns) =>
          this.requeue(this.informers.syncKeys().filter((k) => k.startsWith(`${ns}/`))),
      },
    });
    this.queue = new WorkQueue({
      concurrency: o.concurrency ?? 16,
      clock: this.clock,
      handler: (key) => this.reconciler.reconcile(key),
      onError: (key, err, info) =>
        info.terminal
          ? o.logger.warn(
              { key, error: errMessage(err) },
              'reconcile failed; not retried until the SecretSync, its Secret or its policy changes',
            )
          : o.logger.warn(
              { key, failures: info.failures, retryInMs: info.retryInMs, error: errMessage(err) },
              'reconcile failed; backing off',
            ),
    });
    this.refresher = new RefreshScheduler({
      jitter: o.jitter ?? 0.1,
      refresh: (keys, intervalMs) => this.refresh(keys, intervalMs),
      onError: (err) => o.onRefreshError?.(err),
    });
    this.reconciler = new Reconciler({
      kube,
      resolver: o.resolver,
      view: this.informers,
      recorder: new EventRecorder({
        kube,
        logger: o.logger,
        clock: this.clock,
        onResult: (result) => o.metrics.kubeEvents.inc({ result }),
      }),
      tracking: this.tracking,
      refresher: this.refresher,
      metrics: o.metrics,
      logger: o.logger,
      clock: this.clock,
      defaultRefreshMs: o.defaultRefreshMs ?? 3_600_000,
    });
  }

  /** The SecretSyncs that depend on each source (for tests and diagnostics). */
  get deps() {
    return this.tracking.deps;
  }

  get ready(): boolean {
    return this.informers.ready;
  }

  async start(): Promise<void> {
    await this.informers.start();
  }

  private requeue(keys: Iterable<string>): void {
    for (const k of keys) this.queue.add(k);
  }

  private onSync(s: SecretSync): void {
    const key = keyOf(s.metadata.namespace!, s.metadata.name);
    const gen = s.metadata.generation ?? 0;
    if (this.generations.get(key) === gen) return; // status-only update
    this.generations.set(key, gen);
    this.tracking.deps.set(key, s.spec);
    this.refresher.set(key, this.reconciler.refreshInterval(s));
    this.queue.add(key);
  }

  private onSyncDelete(s: SecretSync): void {
    const key = keyOf(s.metadata.namespace!, s.metadata.name);
    this.generations.delete(key);
    this.tracking.deps.delete(key);
    this.tracking.unnamed.delete(key);
    this.refresher.delete(key);
  }

  private onSecret(sec: SecretLike, deleted: boolean): void {
    const owner = sec.metadata?.labels?.[SYNC_LABEL];
    if (!owner || !sec.metadata?.namespace) return;
    const key = keyOf(sec.metadata.namespace, owner);
    // our own write coming back: nothing to repair
    if (!deleted && existingHash(sec) === this.tracking.lastWritten.get(key)) return;
    this.queue.add(key);
  }

  /**
   * Start processing the queue and the periodic refresh (only the leader does). Level-triggered:
   * everything known gets a reconcile when we start leading; the sources of every allowed
   * SecretSync are fetched first, all at once, so they batch into the fewest calls.
   */
  async startWorkers(): Promise<void> {
    await this.prewarm();
    this.requeue(this.informers.syncKeys());
    this.queue.start();
    this.refresher.start();
  }

  async stopWorkers(): Promise<void> {
    this.refresher.stop();
    await this.queue.stop();
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    await this.informers.stop();
  }

  /**
   * A periodic refresh of these SecretSyncs (one cohort of the RefreshScheduler): their sources
   * are dropped from the shared cache and re-read from AWS in one batch (one GetParameters per 10
   * names, one BatchGetSecretValue per 20 ids, one listing per path), then each is reconciled
   * against the fresh values. A source another SecretSync also reads is simply read fresh for it
   * too. SecretSyncs denied by policy are skipped: no AWS call for them.
   */
  async refresh(keys: string[], intervalMs?: number): Promise<void> {
    const syncs: SecretSync[] = [];
    for (const key of keys) {
      const [ns, name] = key.split('/') as [string, string];
      const s = this.informers.cachedSync(ns, name);
      if (s) syncs.push(s);
    }
    const plan = await this.plan(syncs);
    this.o.resolver.invalidate(plan.drop);
    await this.fetch(plan);
    this.requeue(plan.keys);
    this.o.metrics.refreshes.inc({ interval: intervalMs ? `${Math.round(intervalMs / 1000)}s` : 'all' });
  }

  /** Every SecretSync refreshed at once, whatever its interval (the benchmark and tests use it). */
  async refreshAll(): Promise<void> {
    await this.refresh(this.informers.syncKeys());
  }

  /**
   * Fetches every source that allowed SecretSyncs read, in one go (one batch per service), so
   * the reconciles that follow hit the cache. Denied namespaces are skipped: no AWS call for them.
   */
  async prewarm(): Promise<void> {
    await this.fetch(await this.plan(this.informers.syncs()));
  }

  private async plan(syncs: SecretSync[]): Promise<FetchPlan> {
    const plan: FetchPlan = {
      keys: [],
      params: new Set(),
      paths: new Map(),
      secrets: new Set(),
      drop: new Set(),
    };
    const policies = this.informers.policies();
    for (const s of syncs) {
      try {
        const ns = s.metadata.namespace!;
        const grants = grantsFor(ns, await this.informers.namespaceLabels(ns), policies);
        if (deniedSources(s.spec, grants).length > 0) continue;
        const key = keyOf(ns, s.metadata.name);
        plan.keys.push(key);
        const src = sourcesOf(s.spec);
        for (const p of src.parameters) plan.params.add(p);
        for (const id of src.secrets) plan.secrets.add(id);
        for (const p of src.paths) plan.drop.add(p.path);
        // a `keys` hierarchy reads its names one by one (recorded in `unnamed`), not by listing
        for (const h of s.spec.sources)
          if (h.hierarchy && !h.hierarchy.keys?.length)
            for (const l of buildLevels(hierarchyInput(h.hierarchy)))
              plan.paths.set(l.path, l.recursive || plan.paths.get(l.path) === true);
        for (const u of this.tracking.unnamed.get(key) ?? [])
          (u.kind === 'ssm' ? plan.params : plan.secrets).add(u.id);
      } catch {
        /* invalid spec: its reconcile reports it */
      }
    }
    for (const p of plan.params) plan.drop.add(p);
    for (const id of plan.secrets) plan.drop.add(id);
    return plan;
  }

  private async fetch(plan: FetchPlan): Promise<void> {
    const r = this.o.resolver;
    await Promise.allSettled([
      ...[...plan.params].map((name) => r.getParameter({ name })),
      ...[...plan.paths].map(([path, rec]) => r.getParametersByPath(path, rec)),
      ...[...plan.secrets].map((secretId) => r.getSecret({ secretId })),
    ]);
  }

  /** A rotation event: invalidate the source and requeue only its dependents. */
  onSourceChanged(
    change: { kind: 'ssm'; name: string } | { kind: 'secret'; id: string },
    receivedAt = this.clock.now(),
  ): string[] {
    const d = this.tracking.deps;
    const keys = change.kind === 'ssm' ? d.forParameter(change.name) : d.forSecret(change.id);
    // SecretSyncs that read it through a nested reference or a `keys` hierarchy
    const id = change.kind === 'ssm' ? change.name : secretName(change.id);
    for (const [k, refs] of this.tracking.unnamed)
      if (
        !keys.includes(k) &&
        refs.some((u) => u.kind === change.kind && (u.kind === 'ssm' ? u.id === id : secretName(u.id) === id))
      )
        keys.push(k);
    // only a source one of our SecretSyncs reads: the resolver may be shared with other readers
    if (keys.length === 0) return keys;
    this.o.resolver.invalidate(change.kind === 'ssm' ? change.name : change.id);
    for (const k of keys) {
      if (!this.tracking.eventAt.has(k)) this.tracking.eventAt.set(k, receivedAt);
      this.queue.add(k);
    }
    return keys;
  }
}
