/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-node has no helper). The same
 * protocol as client-go: a holder renews `renewTime` every `retryPeriod`; a candidate takes the
 * Lease when it is free or `renewTime + leaseDurationSeconds` has passed; every write uses the
 * Lease's resourceVersion, so two candidates cannot both win. A leader that cannot renew within
 * `renewDeadline` stops leading. Release on shutdown empties `holderIdentity` so a standby takes
 * over at once.
 */
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
}

interface Lease {
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

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
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
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.log?.('became leader', { lease: this.o.name, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading) this.lose('another holder has the lease');
    } catch (err) {
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs)
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
    const now = new Date();
    const lease = await client.get<Lease>(paths.lease(namespace, name));
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: microTime(now),
    };
    if (!lease) {
      try {
        await client.request('POST', paths.leases(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) return false;
        throw err;
      }
    }
    const holder = lease.spec.holderIdentity ?? '';
    const renewed = lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
    const expired = renewed + duration < now.getTime();
    if (holder !== identity && holder !== '' && !expired) return false;
    const taking = holder !== identity;
    try {
      await client.request('PUT', paths.lease(namespace, name), {
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          ...(taking
            ? { acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }
            : {}),
        },
      });
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return false; // someone else wrote first
      throw err;
    }
  }

  /** Stops campaigning; if leading, empties holderIdentity so a standby can take over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
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
            renewTime: microTime(new Date()),
          },
        });
      }
    } catch (err) {
      this.o.log?.('lease release failed', { error: (err as Error).message });
    }
  }
}
