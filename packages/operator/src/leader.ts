/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-node has no helper). The same
 * protocol as client-go: a holder renews `renewTime` every `retryPeriod`; a candidate takes the
 * Lease when it is free, or when the record has not changed for `leaseDurationSeconds` as
 * measured on the candidate's OWN clock from the moment it last saw the record change. The
 * holder's `renewTime` is never compared with the local clock, so clock skew between nodes
 * cannot make a live Lease look expired. Every write uses the Lease's resourceVersion, so two
 * candidates cannot both win. A leader that cannot renew within `renewDeadline` (its own clock)
 * stops leading. Release on shutdown empties `holderIdentity` so a standby takes over at once.
 */
import { type Clock, systemClock, type Timer } from './clock.js';
import { type KubeClient, KubeError, paths } from './kube.js';

export interface LeaderOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Time and timers (injectable for tests). Default: the system clock. */
  clock?: Clock;
  /** The local clock's reading, ms since the epoch, when it differs from `clock.now` (skew in tests). */
  now?: () => number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** What a candidate last saw of the Lease, and when (on its own clock). */
export interface LeaseObservation {
  /** The record's content (spec), serialised; a change of any field counts as a renewal. */
  record: string;
  /** Local time (ms) at which this content was first seen. */
  at: number;
}

/**
 * Whether another holder's Lease is still valid, judged as client-go does: by when this process
 * last saw the record change (`observed.at`, its own clock) plus the record's lease duration —
 * never by the holder's `renewTime`, which was written with the holder's clock.
 */
export function leaseHeldByOther(
  spec: Lease['spec'],
  observed: LeaseObservation,
  nowMs: number,
  identity: string,
): boolean {
  const holder = spec.holderIdentity ?? '';
  if (holder === '' || holder === identity) return false;
  const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
  return observed.at + durationMs > nowMs;
}

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: Timer | undefined;
  private readonly clock: Clock;
  private lastRenew = 0;
  private observed: LeaseObservation | undefined;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    this.clock = o.clock ?? systemClock;
    this.now = o.now ?? (() => this.clock.now());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (this.stopped) return; // stop() or release() while the request was in flight
      if (ok) {
        this.lastRenew = this.now();
        if (!this.leading) {
          this.leading = true;
          this.o.log?.('became leader', { lease: this.o.name, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading) this.lose('another holder has the lease');
    } catch (err) {
      if (this.stopped) return;
      if (this.leading && this.now() - this.lastRenew > this.renewDeadlineMs)
        this.lose(`renew failed: ${(err as Error).message}`);
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.o.log?.('lost leadership', { lease: this.o.name, reason: why });
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const nowMs = this.now();
    const now = new Date(nowMs);
    const lease = await client.get<Lease>(paths.lease(namespace, name));
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: microTime(now),
    };
    if (!lease) {
      try {
        const created = await client.request<Lease>('POST', paths.leases(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        if (created?.spec) this.observed = { record: JSON.stringify(created.spec), at: nowMs };
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) return false;
        throw err;
      }
    }
    const record = JSON.stringify(lease.spec);
    if (this.observed?.record !== record) this.observed = { record, at: nowMs };
    if (leaseHeldByOther(lease.spec, this.observed, nowMs, identity)) return false;
    const taking = (lease.spec.holderIdentity ?? '') !== identity;
    try {
      const written = await client.request<Lease>('PUT', paths.lease(namespace, name), {
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          ...(taking
            ? { acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }
            : {}),
        },
      });
      if (written?.spec) this.observed = { record: JSON.stringify(written.spec), at: nowMs };
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return false; // someone else wrote first
      throw err;
    }
  }

  /**
   * Stops campaigning without touching the Lease: a standby takes over once the Lease expires
   * (what a crashed process looks like to the others). Calls `onStoppedLeading` if leading.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.leading) this.lose('stopped');
  }

  /** Stops campaigning; if leading, empties holderIdentity so a standby can take over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.client.get<Lease>(paths.lease(this.o.namespace, this.o.name));
      if (lease && lease.spec.holderIdentity === this.o.identity) {
        await this.o.client.request('PUT', paths.lease(this.o.namespace, this.o.name), {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date(this.now())),
          },
        });
      }
    } catch (err) {
      this.o.log?.('lease release failed', { error: (err as Error).message });
    }
  }
}
