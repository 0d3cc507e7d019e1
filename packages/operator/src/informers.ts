/**
 * The operator's view of the cluster: informers (list + watch, client-node) on SecretSyncs,
 * SourcePolicies, Strata-managed Secrets and Namespaces, restarted after errors, and reads from
 * their caches (a GET only for what a cache does not hold). Changes are reported to `handlers`.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { makeInformer } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { type KubeClient, paths } from './kube.js';
import { API_VERSION, type SecretSync, type SourcePolicy, SYNC_LABEL } from './types.js';

type Informer<T extends KubernetesObject> = ReturnType<typeof makeInformer<T>>;

export interface SecretLike extends KubernetesObject {
  data?: Record<string, string>;
  type?: string;
}

export interface InformerHandlers {
  /** A SecretSync was added or changed (status-only updates included). */
  syncChanged(s: SecretSync): void;
  syncDeleted(s: SecretSync): void;
  /** Any SourcePolicy was added, changed or deleted. */
  policiesChanged(): void;
  /** A Secret carrying the SecretSync label changed or was deleted. */
  secretChanged(secret: SecretLike, deleted: boolean): void;
  /** A Namespace's labels changed (not on first sight). */
  namespaceLabelsChanged(namespace: string): void;
}

export interface InformersOptions {
  kubeConfig: KubeConfig;
  kube: KubeClient;
  logger: Logger;
  handlers: InformerHandlers;
  /** Watch only these namespaces (namespaced RBAC mode). Default: all namespaces. */
  namespaces?: string[];
  /** Delay before an informer restarts after an error. Default 1s (doubling to 30s). */
  restartMs?: number;
  clock?: Clock;
}

export const keyOf = (ns: string, name: string) => `${ns}/${name}`;

/** How long a Namespace's labels read by GET (outside the informer's cache) are reused. */
const NAMESPACE_LABELS_TTL_MS = 30_000;

/**
 * Secrets the label-filtered informer does not hold: before creating a Secret, the operator must
 * know whether one of that name already exists without its label (a Secret it does not manage:
 * never overwritten, see `decideWrite`). Instead of one GET per SecretSync, the names of a
 * namespace's Secrets are listed once (metadata only: names and labels, never data), and that
 * listing is shared by the reconciles of that namespace that start within `reuseMs` of it
 * (default 1 s); a full GET is made only for a name the listing holds. At start, 10,000
 * SecretSyncs in 100 namespaces cost about 100 LISTs instead of 10,000 GETs.
 */
export class UncachedSecrets {
  private readonly listings = new Map<string, { at: number; names: Promise<Set<string>> }>();
  private readonly reuseMs: number;
  private readonly clock: Clock;

  constructor(private readonly o: { kube: KubeClient; clock?: Clock; reuseMs?: number }) {
    this.reuseMs = o.reuseMs ?? 1000;
    this.clock = o.clock ?? systemClock;
  }

  async read(ns: string, name: string): Promise<SecretLike | undefined> {
    if (!(await this.names(ns)).has(name)) return undefined;
    return this.o.kube.get<SecretLike>(paths.secret(ns, name));
  }

  /** A Secret this process just wrote: a listing being reused must not call it absent. */
  written(ns: string, name: string): void {
    const hit = this.listings.get(ns);
    if (!hit) return;
    const names = hit.names.then((n) => n.add(name));
    names.catch(() => {}); // a failed listing is reported to the reconcile that made it
    this.listings.set(ns, { at: hit.at, names });
  }

  private names(ns: string): Promise<Set<string>> {
    const now = this.clock.now();
    const hit = this.listings.get(ns);
    if (hit && now - hit.at < this.reuseMs) return hit.names;
    const names = this.list(ns);
    const entry = { at: now, names };
    this.listings.set(ns, entry);
    // a failed listing is not reused (the reconcile reports the error and is retried)
    names.catch(() => {
      if (this.listings.get(ns) === entry) this.listings.delete(ns);
    });
    // forget old listings so the map stays as small as the namespaces being created in
    for (const [k, v] of this.listings) if (now - v.at >= this.reuseMs) this.listings.delete(k);
    return names;
  }

  private async list(ns: string): Promise<Set<string>> {
    const names = new Set<string>();
    let cont: string | undefined;
    do {
      const q = `?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const page = await this.o.kube.listMetadata(`${paths.secrets(ns)}${q}`);
      // an empty list comes back as `items: null`
      for (const i of page.items ?? []) names.add(i.metadata.name);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return names;
  }
}

export class Informers {
  private syncInformers: Array<Informer<SecretSync & KubernetesObject>> = [];
  private policyInformer: Informer<SourcePolicy & KubernetesObject> | undefined;
  private secretInformers: Array<Informer<SecretLike>> = [];
  private namespaceInformer: Informer<KubernetesObject> | undefined;
  /** Labels per namespace as last seen (JSON), to report a change. */
  private namespaceLabelsSeen = new Map<string, string>();
  private nsLabels = new Map<string, { labels: Record<string, string>; at: number }>();
  private synced: Record<string, boolean> = {};
  private running = false;
  private readonly clock: Clock;
  private readonly uncached: UncachedSecrets;

  constructor(private readonly o: InformersOptions) {
    this.clock = o.clock ?? systemClock;
    this.uncached = new UncachedSecrets({ kube: o.kube, clock: this.clock });
  }

  /** Every informer has listed once (and reconnected after its last error). */
  get ready(): boolean {
    const v = Object.values(this.synced);
    return v.length > 0 && v.every(Boolean);
  }

  syncs(): SecretSync[] {
    return this.syncInformers.flatMap((i) => i.list() as SecretSync[]);
  }

  syncKeys(): string[] {
    return this.syncs().map((s) => keyOf(s.metadata.namespace!, s.metadata.name));
  }

  policies(): SourcePolicy[] {
    return (this.policyInformer?.list() ?? []) as SourcePolicy[];
  }

  /** From the cache only. */
  cachedSync(ns: string, name: string): SecretSync | undefined {
    for (const inf of this.syncInformers) {
      const s = inf.get(name, ns);
      if (s) return s;
    }
    return undefined;
  }

  /** From the cache; a GET only when the cache does not have it (new, or just deleted). */
  async readSync(ns: string, name: string): Promise<SecretSync | undefined> {
    return this.cachedSync(ns, name) ?? this.o.kube.get<SecretSync>(paths.secretSync(ns, name));
  }

  /**
   * From the cache (Secrets carrying the SecretSync label); otherwise from a shared metadata
   * listing of the namespace, and a GET only when a Secret of that name exists (see `UncachedSecrets`).
   */
  async readSecret(ns: string, name: string): Promise<SecretLike | undefined> {
    for (const inf of this.secretInformers) {
      const s = inf.get(name, ns);
      if (s) return s;
    }
    return this.uncached.read(ns, name);
  }

  secretWritten(ns: string, name: string): void {
    this.uncached.written(ns, name);
  }

  async namespaceLabels(ns: string): Promise<Record<string, string>> {
    const known = this.namespaceInformer?.get(ns);
    if (known) return known.metadata?.labels ?? {};
    const now = this.clock.now();
    const hit = this.nsLabels.get(ns);
    if (hit && now - hit.at < NAMESPACE_LABELS_TTL_MS) return hit.labels;
    const obj = await this.o.kube.get<{ metadata: { labels?: Record<string, string> } }>(paths.namespace(ns));
    const labels = obj?.metadata.labels ?? {};
    this.nsLabels.set(ns, { labels, at: now });
    return labels;
  }

  async start(): Promise<void> {
    this.running = true;
    const h = this.o.handlers;
    const scopes = this.o.namespaces && this.o.namespaces.length > 0 ? this.o.namespaces : [undefined];
    for (const ns of scopes) {
      const nsPath = ns ? `/namespaces/${ns}` : '';
      const suffix = ns ? `:${ns}` : '';
      const syncs = this.informer<SecretSync & KubernetesObject>(
        `secretsyncs${suffix}`,
        `/apis/${API_VERSION}${nsPath}/secretsyncs`,
      );
      syncs.on('add', (s) => h.syncChanged(s));
      syncs.on('update', (s) => h.syncChanged(s));
      syncs.on('delete', (s) => h.syncDeleted(s));
      this.syncInformers.push(syncs);
      const secrets = this.informer<SecretLike>(`secrets${suffix}`, `/api/v1${nsPath}/secrets`, SYNC_LABEL);
      secrets.on('update', (sec) => h.secretChanged(sec, false));
      secrets.on('delete', (sec) => h.secretChanged(sec, true));
      this.secretInformers.push(secrets);
    }
    this.policyInformer = this.informer<SourcePolicy & KubernetesObject>(
      'sourcepolicies',
      `/apis/${API_VERSION}/sourcepolicies`,
    );
    for (const ev of ['add', 'update', 'delete'] as const)
      this.policyInformer.on(ev, () => h.policiesChanged());
    // SourcePolicy selectors match Namespace labels: a namespace whose labels change gets its
    // SecretSyncs reconciled again (a denied one may now be allowed, or the reverse)
    this.namespaceInformer = this.informer<KubernetesObject>('namespaces', '/api/v1/namespaces');
    const onNamespace = (n: KubernetesObject) => {
      const name = n.metadata?.name;
      if (!name) return;
      const labels = JSON.stringify(n.metadata?.labels ?? {});
      const before = this.namespaceLabelsSeen.get(name);
      this.namespaceLabelsSeen.set(name, labels);
      this.nsLabels.delete(name);
      if (before !== undefined && before !== labels) h.namespaceLabelsChanged(name);
    };
    this.namespaceInformer.on('add', onNamespace);
    this.namespaceInformer.on('update', onNamespace);
    this.namespaceInformer.on('delete', (n) => {
      if (n.metadata?.name) this.namespaceLabelsSeen.delete(n.metadata.name);
    });
    await Promise.all(this.all().map((i) => i.start()));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.all().map((i) => i.stop().catch(() => {})));
  }

  private all(): Array<Informer<KubernetesObject>> {
    return [
      ...this.syncInformers,
      ...(this.policyInformer ? [this.policyInformer] : []),
      ...this.secretInformers,
      ...(this.namespaceInformer ? [this.namespaceInformer] : []),
    ] as Array<Informer<KubernetesObject>>;
  }

  private list<T>(path: string, labelSelector?: string) {
    return async (): Promise<KubernetesListObject<T & KubernetesObject>> => {
      const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
      return this.o.kube.request<KubernetesListObject<T & KubernetesObject>>('GET', `${path}${q}`);
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
    const first = this.o.restartMs ?? 1000;
    let delay = first;
    inf.on('connect', () => {
      this.synced[name] = true;
      delay = first;
    });
    inf.on('error', (err: unknown) => {
      // stopping aborts the watches, which reports an error: nothing is restarting then
      if (!this.running) return;
      this.o.logger.warn(
        {
          informer: name,
          error: err instanceof Error ? err.message.slice(0, 300) : 'unknown error',
          retryInMs: delay,
        },
        'informer error; restarting',
      );
      this.clock.setTimeout(() => {
        if (this.running) inf.start().catch(() => {});
      }, delay);
      delay = Math.min(delay * 2, 30_000);
    });
    return inf;
  }
}
