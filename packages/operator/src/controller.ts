/**
 * The Strata operator: informers → work queue → level-triggered, idempotent reconcile.
 * One shared resolver for every resource, so AWS calls scale with distinct sources.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { makeInformer } from '@kubernetes/client-node';
import {
  buildLevels,
  formatIssues,
  type HierarchyInput,
  isStrataError,
  type Resolver,
  secretName,
} from '@strata/core';
import type { Logger } from 'pino';
import { decideWrite, desiredSecret, existingHash } from './desired.js';
import { type KubeClient, KubeError, kubeClient, paths } from './kube.js';
import type { Metrics } from './metrics.js';
import { deniedSources, grantsFor, sourcesOf } from './policy.js';
import { type QueueResult, WorkQueue } from './queue.js';
import { RefreshScheduler } from './refresh.js';
import { DependencyIndex, resolveSources } from './sources.js';
import { nextStatus, parseDuration, type ReadyReason, statusChanged } from './status.js';
import {
  API_VERSION,
  FIELD_MANAGER,
  HASH_ANNOTATION,
  type SecretSync,
  type SecretSyncStatus,
  type SourcePolicy,
  SYNC_LABEL,
} from './types.js';

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
}

type Informer<T extends KubernetesObject> = ReturnType<typeof makeInformer<T>>;

interface SecretLike extends KubernetesObject {
  data?: Record<string, string>;
  type?: string;
}

interface NamespaceLike extends KubernetesObject {}

const keyOf = (ns: string, name: string) => `${ns}/${name}`;

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

interface SourceRef {
  kind: 'ssm' | 'secret';
  id: string;
}

/**
 * The sources a reconcile read that its spec does not name: parameters and secrets referenced
 * inside values (nested references) and the names a `keys` hierarchy fetched one by one. A
 * refresh re-reads them too; an event for one of them requeues the SecretSync.
 */
function unnamedSources(spec: SecretSync['spec'], versions: Array<{ source: string }>): SourceRef[] {
  let named: ReturnType<typeof sourcesOf>;
  const levels: Array<{ path: string; recursive: boolean }> = [];
  try {
    named = sourcesOf(spec);
    for (const s of spec.sources)
      if (s.hierarchy && !s.hierarchy.keys?.length) levels.push(...buildLevels(hierarchyInput(s.hierarchy)));
  } catch {
    return [];
  }
  const params = new Set(named.parameters);
  const secrets = new Set(named.secrets.map((x) => secretName(x)));
  const listed = (name: string) =>
    levels.some((l) =>
      l.recursive
        ? name.startsWith(`${l.path}/`)
        : name.startsWith(`${l.path}/`) && !name.slice(l.path.length + 1).includes('/'),
    );
  const out: SourceRef[] = [];
  for (const { source } of versions) {
    if (source.startsWith('ssm:')) {
      const name = source.slice(4);
      if (!params.has(name) && !listed(name)) out.push({ kind: 'ssm', id: name });
    } else if (source.startsWith('secret:')) {
      const id = source.slice(7);
      if (!secrets.has(secretName(id))) out.push({ kind: 'secret', id });
    }
  }
  return out;
}

function hierarchyInput(h: NonNullable<SecretSync['spec']['sources'][number]['hierarchy']>): HierarchyInput {
  return h.levels ? { levels: h.levels } : { template: h.template!, vars: h.vars ?? {} };
}

export class Controller {
  readonly queue: WorkQueue;
  readonly deps = new DependencyIndex();
  private readonly kube: KubeClient;
  private syncInformers: Array<Informer<SecretSync & KubernetesObject>> = [];
  private policies!: Informer<SourcePolicy & KubernetesObject>;
  private secretInformers: Array<Informer<SecretLike>> = [];
  private namespaceInformer: Informer<NamespaceLike> | undefined;
  /** Labels per namespace as last seen (JSON), to requeue a namespace's SecretSyncs when they change. */
  private namespaceLabelsSeen = new Map<string, string>();
  /** Sources each SecretSync read that its spec does not name (see `unnamedSources`). */
  private unnamed = new Map<string, SourceRef[]>();
  readonly refresher: RefreshScheduler;
  private readonly syncs = {
    list: (): SecretSync[] => this.syncInformers.flatMap((i) => i.list() as SecretSync[]),
  };
  private generations = new Map<string, number>();
  /** Content hash Strata last wrote per SecretSync: its own writes coming back are not re-queued. */
  private lastWritten = new Map<string, string>();
  private nsLabels = new Map<string, { labels: Record<string, string>; at: number }>();
  private eventTimes = new Map<string, number>();
  private synced: Record<string, boolean> = {};
  private running = false;

  constructor(private readonly o: ControllerOptions) {
    this.kube = kubeClient(o.kubeConfig);
    this.queue = new WorkQueue({
      concurrency: o.concurrency ?? 16,
      handler: (key) => this.reconcile(key),
      onError: (key, err, n) =>
        o.logger.warn({ key, failures: n, error: errMessage(err) }, 'reconcile failed; backing off'),
    });
    this.refresher = new RefreshScheduler({
      jitter: o.jitter ?? 0.1,
      refresh: (keys, intervalMs) => this.refresh(keys, intervalMs),
      onError: (err) => o.onRefreshError?.(err),
    });
  }

  get ready(): boolean {
    const v = Object.values(this.synced);
    return v.length > 0 && v.every(Boolean);
  }

  private list<T>(path: string, labelSelector?: string) {
    return async (): Promise<KubernetesListObject<T & KubernetesObject>> => {
      const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
      const out = await this.kube.request<KubernetesListObject<T & KubernetesObject>>('GET', `${path}${q}`);
      return out;
    };
  }

  /** An informer that restarts itself after errors (client-node's relists on 410 only). */
  private informer<T extends KubernetesObject>(
    name: string,
    path: string,
    labelSelector?: string,
  ): Informer<T> {
    this.synced[name] = false;
    const inf = makeInformer<T>(this.o.kubeConfig, path, this.list<T>(path, labelSelector), labelSelector);
    let delay = this.o.informerRestartMs ?? 1000;
    inf.on('connect', () => {
      this.synced[name] = true;
      delay = this.o.informerRestartMs ?? 1000;
    });
    inf.on('error', (err: unknown) => {
      // stopping aborts the watches, which reports an error: nothing is restarting then
      if (!this.running) return;
      this.o.logger.warn(
        { informer: name, error: errMessage(err), retryInMs: delay },
        'informer error; restarting',
      );
      const t = setTimeout(() => {
        if (this.running) inf.start().catch(() => {});
      }, delay);
      t.unref();
      delay = Math.min(delay * 2, 30_000);
    });
    return inf;
  }

  async start(): Promise<void> {
    this.running = true;
    const scopes = this.o.namespaces && this.o.namespaces.length > 0 ? this.o.namespaces : [undefined];
    for (const ns of scopes) {
      const nsPath = ns ? `/namespaces/${ns}` : '';
      this.syncInformers.push(
        this.informer<SecretSync & KubernetesObject>(
          `secretsyncs${ns ? `:${ns}` : ''}`,
          `/apis/${API_VERSION}${nsPath}/secretsyncs`,
        ),
      );
      this.secretInformers.push(
        this.informer<SecretLike>(`secrets${ns ? `:${ns}` : ''}`, `/api/v1${nsPath}/secrets`, SYNC_LABEL),
      );
    }
    this.policies = this.informer<SourcePolicy & KubernetesObject>(
      'sourcepolicies',
      `/apis/${API_VERSION}/sourcepolicies`,
    );
    // SourcePolicy selectors match Namespace labels: a namespace whose labels change gets its
    // SecretSyncs reconciled again (a denied one may now be allowed, or the reverse)
    this.namespaceInformer = this.informer<NamespaceLike>('namespaces', '/api/v1/namespaces');
    const onNamespace = (n: NamespaceLike) => {
      const name = n.metadata?.name;
      if (!name) return;
      const labels = JSON.stringify(n.metadata?.labels ?? {});
      const before = this.namespaceLabelsSeen.get(name);
      this.namespaceLabelsSeen.set(name, labels);
      this.nsLabels.delete(name);
      if (before === undefined || before === labels) return;
      for (const s of this.syncs.list())
        if (s.metadata.namespace === name) this.queue.add(keyOf(name, s.metadata.name));
    };
    this.namespaceInformer.on('add', onNamespace);
    this.namespaceInformer.on('update', onNamespace);
    this.namespaceInformer.on('delete', (n) => {
      if (n.metadata?.name) this.namespaceLabelsSeen.delete(n.metadata.name);
    });
    const onSync = (s: SecretSync) => {
      const key = keyOf(s.metadata.namespace!, s.metadata.name);
      const gen = s.metadata.generation ?? 0;
      if (this.generations.get(key) === gen) return; // status-only update
      this.generations.set(key, gen);
      this.deps.set(key, s.spec);
      this.refresher.set(key, this.refreshInterval(s));
      this.queue.add(key);
    };
    const onSyncDelete = (s: SecretSync) => {
      const key = keyOf(s.metadata.namespace!, s.metadata.name);
      this.generations.delete(key);
      this.deps.delete(key);
      this.unnamed.delete(key);
      this.refresher.delete(key);
    };
    for (const inf of this.syncInformers) {
      inf.on('add', onSync);
      inf.on('update', onSync);
      inf.on('delete', onSyncDelete);
    }
    const requeueAll = () => {
      for (const s of this.syncs.list()) this.queue.add(keyOf(s.metadata.namespace!, s.metadata.name));
    };
    this.policies.on('add', requeueAll);
    this.policies.on('update', requeueAll);
    this.policies.on('delete', requeueAll);
    const onSecret = (sec: SecretLike, deleted: boolean) => {
      const owner = sec.metadata?.labels?.[SYNC_LABEL];
      if (!owner || !sec.metadata?.namespace) return;
      const key = keyOf(sec.metadata.namespace, owner);
      // our own write coming back: nothing to repair
      if (!deleted && existingHash(sec) === this.lastWritten.get(key)) return;
      this.queue.add(key);
    };
    for (const inf of this.secretInformers) {
      inf.on('update', (sec) => onSecret(sec, false));
      inf.on('delete', (sec) => onSecret(sec, true));
    }
    await Promise.all(this.informers().map((i) => i.start()));
  }

  private informers(): Array<Informer<KubernetesObject>> {
    return [
      ...this.syncInformers,
      this.policies,
      ...this.secretInformers,
      ...(this.namespaceInformer ? [this.namespaceInformer] : []),
    ].filter(Boolean) as Array<Informer<KubernetesObject>>;
  }

  /**
   * Start processing the queue and the periodic refresh (only the leader does). Level-triggered:
   * everything known gets a reconcile when we start leading; the sources of every allowed
   * SecretSync are fetched first, all at once, so they batch into the fewest calls.
   */
  async startWorkers(): Promise<void> {
    await this.prewarm();
    for (const s of this.syncs.list()) this.queue.add(keyOf(s.metadata.namespace!, s.metadata.name));
    this.queue.start();
    this.refresher.start();
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
      for (const inf of this.syncInformers) {
        const s = inf.get(name, ns);
        if (s) {
          syncs.push(s);
          break;
        }
      }
    }
    const plan = await this.plan(syncs);
    this.o.resolver.invalidate(plan.drop);
    await this.fetch(plan);
    for (const k of plan.keys) this.queue.add(k);
    this.o.metrics.refreshes.inc({ interval: intervalMs ? `${Math.round(intervalMs / 1000)}s` : 'all' });
  }

  /** Every SecretSync refreshed at once, whatever its interval (the benchmark and tests use it). */
  async refreshAll(): Promise<void> {
    await this.refresh(this.syncs.list().map((s) => keyOf(s.metadata.namespace!, s.metadata.name)));
  }

  /**
   * Fetches every source that allowed SecretSyncs read, in one go (one batch per service), so
   * the reconciles that follow hit the cache. Denied namespaces are skipped: no AWS call for them.
   */
  async prewarm(): Promise<void> {
    await this.fetch(await this.plan(this.syncs.list()));
  }

  private async plan(syncs: SecretSync[]): Promise<FetchPlan> {
    const plan: FetchPlan = {
      keys: [],
      params: new Set(),
      paths: new Map(),
      secrets: new Set(),
      drop: new Set(),
    };
    const policies = this.policies.list() as SourcePolicy[];
    for (const s of syncs) {
      try {
        const ns = s.metadata.namespace!;
        const grants = grantsFor(ns, await this.namespaceLabels(ns), policies);
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
        for (const u of this.unnamed.get(key) ?? [])
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

  private async namespaceLabels(ns: string): Promise<Record<string, string>> {
    const known = this.namespaceInformer?.get(ns);
    if (known) return known.metadata?.labels ?? {};
    const hit = this.nsLabels.get(ns);
    if (hit && Date.now() - hit.at < 30_000) return hit.labels;
    const obj = await this.kube.get<{ metadata: { labels?: Record<string, string> } }>(paths.namespace(ns));
    const labels = obj?.metadata.labels ?? {};
    this.nsLabels.set(ns, { labels, at: Date.now() });
    return labels;
  }

  /** From the informer's cache; a GET only when the cache does not have it (new, or just deleted). */
  private async readSync(ns: string, name: string): Promise<SecretSync | undefined> {
    for (const inf of this.syncInformers) {
      const s = inf.get(name, ns);
      if (s) return s;
    }
    return this.kube.get<SecretSync>(paths.secretSync(ns, name));
  }

  private async readSecret(ns: string, name: string): Promise<SecretLike | undefined> {
    for (const inf of this.secretInformers) {
      const s = inf.get(name, ns);
      if (s) return s;
    }
    return this.kube.get<SecretLike>(paths.secret(ns, name));
  }

  async stopWorkers(): Promise<void> {
    this.refresher.stop();
    await this.queue.stop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.refresher.stop();
    await this.queue.stop();
    await Promise.all(this.informers().map((i) => i.stop().catch(() => {})));
  }

  /** A rotation event: invalidate the source and requeue only its dependents. */
  onSourceChanged(
    change: { kind: 'ssm'; name: string } | { kind: 'secret'; id: string },
    receivedAt = Date.now(),
  ): string[] {
    const keys = change.kind === 'ssm' ? this.deps.forParameter(change.name) : this.deps.forSecret(change.id);
    // SecretSyncs that read it through a nested reference or a `keys` hierarchy
    const id = change.kind === 'ssm' ? change.name : secretName(change.id);
    for (const [k, refs] of this.unnamed)
      if (
        !keys.includes(k) &&
        refs.some((u) => u.kind === change.kind && (u.kind === 'ssm' ? u.id === id : secretName(u.id) === id))
      )
        keys.push(k);
    this.o.resolver.invalidate(change.kind === 'ssm' ? change.name : change.id);
    for (const k of keys) {
      if (!this.eventTimes.has(k)) this.eventTimes.set(k, receivedAt);
      this.queue.add(k);
    }
    return keys;
  }

  private refreshInterval(s: SecretSync): number {
    return parseDuration(s.spec.refreshInterval, this.o.defaultRefreshMs ?? 3_600_000);
  }

  private async event(
    s: SecretSync,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    try {
      await this.kube.request('POST', paths.events(s.metadata.namespace!), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: `${s.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 4096).toString(16)}`,
          namespace: s.metadata.namespace,
        },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: 'SecretSync',
          name: s.metadata.name,
          namespace: s.metadata.namespace,
          uid: s.metadata.uid,
        },
        reason,
        message: message.slice(0, 1024),
        type,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
      });
    } catch (err) {
      this.o.logger.warn({ error: errMessage(err) }, 'could not record event');
    }
  }

  private async setStatus(s: SecretSync, status: SecretSyncStatus): Promise<void> {
    if (!statusChanged(s.status, status)) return;
    await this.kube.mergePatch(paths.secretSyncStatus(s.metadata.namespace!, s.metadata.name), { status });
  }

  private async fail(
    s: SecretSync,
    reason: ReadyReason,
    message: string,
    eventReason = reason,
  ): Promise<void> {
    const prev = s.status?.conditions?.find((c) => c.type === 'Ready');
    const status = nextStatus(s.status, {
      ready: false,
      reason,
      message,
      generation: s.metadata.generation,
      now: new Date(),
    });
    if (
      !(
        prev?.status === 'False' &&
        prev.reason === reason &&
        prev.message === status.conditions!.at(-1)!.message
      )
    ) {
      await this.event(s, 'Warning', eventReason, message);
    }
    await this.setStatus(s, status);
    this.o.metrics.reconcileErrors.inc({ reason });
  }

  /** Level-triggered, idempotent: desired Secret = f(spec, resolved values). */
  async reconcile(key: string): Promise<QueueResult | undefined> {
    const end = this.o.metrics.reconcileDuration.startTimer();
    try {
      return await this.reconcileInner(key);
    } finally {
      end();
    }
  }

  private async reconcileInner(key: string): Promise<QueueResult | undefined> {
    const [ns, name] = key.split('/') as [string, string];
    const s = await this.readSync(ns, name);
    if (!s || s.metadata.deletionTimestamp) {
      this.deps.delete(key);
      this.unnamed.delete(key);
      this.refresher.delete(key);
      this.lastWritten.delete(key);
      this.o.metrics.reconciles.inc({ result: 'gone' });
      return undefined;
    }
    this.deps.set(key, s.spec);
    this.refresher.set(key, this.refreshInterval(s));
    const log = this.o.logger.child({ secretsync: key });

    // 1. policy: default deny, and no AWS call for a namespace without a grant
    const grants = grantsFor(ns, await this.namespaceLabels(ns), this.policies.list() as SourcePolicy[]);
    let denied: string[];
    try {
      denied = deniedSources(s.spec, grants);
    } catch (err) {
      await this.fail(s, 'InvalidSpec', errMessage(err));
      this.o.metrics.reconciles.inc({ result: 'invalid' });
      return undefined;
    }
    if (denied.length > 0) {
      await this.fail(s, 'AccessDenied', `no SourcePolicy grants namespace ${ns}: ${denied.join(', ')}`);
      this.o.metrics.reconciles.inc({ result: 'denied' });
      return undefined; // a SourcePolicy change, or new labels on the namespace, requeue it
    }

    // 2. resolve through the shared resolver
    let resolved: Awaited<ReturnType<typeof resolveSources>>;
    try {
      resolved = await resolveSources(s.spec, this.o.resolver, grants);
    } catch (err) {
      const notFound = isStrataError(err) && err.issues.every((i) => i.code === 'NOT_FOUND');
      const msg = isStrataError(err)
        ? `${err.issues.length} source problem(s):\n${formatIssues(err.issues)}`
        : errMessage(err);
      await this.fail(s, notFound ? 'SourceNotFound' : 'SourceError', msg);
      this.o.metrics.reconciles.inc({ result: 'source_error' });
      throw err; // back off and retry
    }

    const unnamed = unnamedSources(s.spec, resolved.versions);
    if (unnamed.length > 0) this.unnamed.set(key, unnamed);
    else this.unnamed.delete(key);

    // never write an older SSM version than the one recorded (out-of-order events, lagging reads)
    const recorded = new Map((s.status?.sourceVersions ?? []).map((v) => [v.source, v.version]));
    const older = resolved.versions.find(
      (v) =>
        v.source.startsWith('ssm:') &&
        recorded.has(v.source) &&
        Number(v.version) < Number(recorded.get(v.source)),
    );
    if (older) {
      log.info({ source: older.source }, 'read an older version than already synced; retrying shortly');
      this.o.resolver.invalidate(older.source.slice(4));
      return { requeueAfterMs: 2000 };
    }

    // 3. write the Secret when its content differs
    const desired = desiredSecret(s, resolved.data);
    const existing = await this.readSecret(ns, s.spec.target.name);
    const decision = decideWrite(s, desired, existing as Parameters<typeof decideWrite>[2]);
    if (decision.action === 'conflict') {
      await this.fail(s, 'Conflict', decision.reason);
      this.o.metrics.reconciles.inc({ result: 'conflict' });
      return undefined;
    }
    if (decision.action !== 'none') {
      try {
        await this.kube.apply(paths.secret(ns, s.spec.target.name), desired.secret, {
          fieldManager: FIELD_MANAGER,
          force: true,
        });
      } catch (err) {
        await this.fail(s, 'WriteFailed', `could not write Secret ${s.spec.target.name}: ${errMessage(err)}`);
        throw err;
      }
      this.lastWritten.set(key, desired.hash);
      this.o.metrics.secretWrites.inc({ action: decision.action });
      log.info(
        { secret: s.spec.target.name, action: decision.action, keys: Object.keys(resolved.data).length },
        'secret written',
      );
      await this.event(
        s,
        'Normal',
        decision.action === 'repair' ? 'DriftRepaired' : 'Synced',
        `${decision.action === 'create' ? 'created' : 'updated'} Secret ${s.spec.target.name} with ${Object.keys(resolved.data).length} keys (${decision.reason})`,
      );
      const t = this.eventTimes.get(key);
      if (t !== undefined) this.o.metrics.eventLag.observe((Date.now() - t) / 1000);
    }
    this.eventTimes.delete(key);

    // 4. roll workloads whose pod template does not carry this content hash yet
    const rolloutProblems: string[] = [];
    for (const w of s.spec.rollout ?? []) {
      const path = paths.workload(ns, w.kind, w.name);
      try {
        const obj = await this.kube.get<{
          spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
        }>(path);
        if (!obj) {
          rolloutProblems.push(`${w.kind} ${w.name} not found`);
          continue;
        }
        if (obj.spec?.template?.metadata?.annotations?.[HASH_ANNOTATION] === desired.hash) continue;
        await this.kube.mergePatch(path, {
          spec: { template: { metadata: { annotations: { [HASH_ANNOTATION]: desired.hash } } } },
        });
        await this.event(s, 'Normal', 'RolloutTriggered', `rolled ${w.kind} ${w.name} for the new content`);
      } catch (err) {
        rolloutProblems.push(`${w.kind} ${w.name}: ${errMessage(err)}`);
      }
    }

    // 5. status
    const ok = rolloutProblems.length === 0;
    const status = nextStatus(s.status, {
      ready: ok,
      reason: ok ? 'Synced' : 'RolloutFailed',
      message: ok
        ? `Secret ${s.spec.target.name} in sync (${Object.keys(resolved.data).length} keys)`
        : rolloutProblems.join('; '),
      generation: s.metadata.generation,
      now: new Date(),
      contentHash: desired.hash,
      sourceVersions: resolved.versions,
      syncedKeys: Object.keys(resolved.data).length,
      synced: decision.action !== 'none' || s.status?.contentHash !== desired.hash || !s.status?.lastSyncTime,
    });
    if (!ok) await this.event(s, 'Warning', 'RolloutFailed', rolloutProblems.join('; '));
    await this.setStatus(s, status);
    this.o.metrics.lastSuccess.set({ namespace: ns, name }, Date.now() / 1000);
    this.o.metrics.reconciles.inc({ result: decision.action === 'none' ? 'unchanged' : 'written' });
    return undefined; // the next periodic read is the RefreshScheduler's (batched with its cohort)
  }
}

export function errMessage(err: unknown): string {
  if (isStrataError(err)) return err.message;
  if (err instanceof KubeError) return err.message;
  if (err instanceof Error) return err.message.slice(0, 300);
  return 'unknown error';
}
