/**
 * Reconcile of one SecretSync, level-triggered and idempotent: desired Secret = f(spec, resolved
 * values). Each step is one method: admit (policy), resolve (shared resolver), guard against
 * older versions, write the Secret, roll workloads, write status. It returns the queue's
 * contract (see queue.ts): `done`, `requeueAfter(ms)`, a `TerminalError` when only a change can
 * help (invalid spec, access denied, a conflict), or another error to retry with backoff.
 */
import { formatIssues, isStrataError, type Resolver } from '@strata/core';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { decideWrite, desiredSecret, type WriteDecision } from './desired.js';
import { errMessage } from './errors.js';
import type { SecretLike } from './informers.js';
import { type KubeClient, paths } from './kube.js';
import type { Metrics } from './metrics.js';
import { deniedSources, type Grants, grantsFor } from './policy.js';
import { done, type ReconcileResult, requeueAfter, TerminalError } from './queue.js';
import type { EventRecorder } from './recorder.js';
import {
  DependencyIndex,
  type ResolvedData,
  resolveSources,
  type SourceRef,
  unnamedSources,
} from './sources.js';
import { nextStatus, parseDuration, type ReadyReason, statusChanged } from './status.js';
import {
  FIELD_MANAGER,
  HASH_ANNOTATION,
  type SecretSync,
  type SecretSyncStatus,
  type SourcePolicy,
} from './types.js';

/** What the controller knows per SecretSync between reconciles. */
export class Tracking {
  /** Which SecretSyncs read which sources (named in their specs). */
  readonly deps = new DependencyIndex();
  /** Sources each SecretSync read that its spec does not name (see `unnamedSources`). */
  readonly unnamed = new Map<string, SourceRef[]>();
  /** Content hash Strata last wrote per SecretSync: its own writes coming back are not re-queued. */
  readonly lastWritten = new Map<string, string>();
  /** When the rotation event that queued a SecretSync arrived (for the event → Secret metric). */
  readonly eventAt = new Map<string, number>();
  /** Since when (clock ms) a SecretSync has read an older SSM version than it synced. */
  readonly olderSince = new Map<string, number>();

  forget(key: string): void {
    this.deps.delete(key);
    this.unnamed.delete(key);
    this.lastWritten.delete(key);
    this.eventAt.delete(key);
    this.olderSince.delete(key);
  }
}

/** The reads a reconcile needs from the cluster (the informers' caches). */
export interface ClusterView {
  readSync(ns: string, name: string): Promise<SecretSync | undefined>;
  readSecret(ns: string, name: string): Promise<SecretLike | undefined>;
  /** The Secret was just written by this process (until its informer has it). */
  secretWritten(ns: string, name: string): void;
  namespaceLabels(ns: string): Promise<Record<string, string>>;
  policies(): SourcePolicy[];
}

export interface ReconcilerOptions {
  kube: KubeClient;
  resolver: Resolver;
  view: ClusterView;
  recorder: EventRecorder;
  tracking: Tracking;
  /** Keeps each SecretSync in the periodic refresh of its interval. */
  refresher: { set(key: string, intervalMs: number): void; delete(key: string): void };
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Refresh interval when a spec gives none. */
  defaultRefreshMs: number;
}

/** How long to wait before reading again a source that returned an older version than synced. */
const OLDER_VERSION_RETRY_MS = 2000;
/**
 * How long an older version is taken for a lagging read. Past this it is what the parameter holds
 * now (deleted and created again: its versions restart at 1) and it is synced.
 */
const OLDER_VERSION_GIVE_UP_MS = 30_000;

export class Reconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  refreshInterval(s: SecretSync): number {
    return parseDuration(s.spec.refreshInterval, this.o.defaultRefreshMs);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const end = this.o.metrics.reconcileDuration.startTimer();
    try {
      return await this.steps(key);
    } finally {
      end();
    }
  }

  private async steps(key: string): Promise<ReconcileResult> {
    const [ns, name] = key.split('/') as [string, string];
    const s = await this.o.view.readSync(ns, name);
    if (!s || s.metadata.deletionTimestamp) {
      this.o.tracking.forget(key);
      this.o.refresher.delete(key);
      this.o.metrics.reconciles.inc({ result: 'gone' });
      return done;
    }
    this.o.tracking.deps.set(key, s.spec);
    this.o.refresher.set(key, this.refreshInterval(s));

    const grants = await this.admit(s);
    const resolved = await this.resolve(s, grants);
    const unnamed = unnamedSources(s.spec, resolved.versions);
    if (unnamed.length > 0) this.o.tracking.unnamed.set(key, unnamed);
    else this.o.tracking.unnamed.delete(key);

    const older = this.olderThanSynced(s, resolved);
    if (older) {
      const now = this.o.clock.now();
      const since = this.o.tracking.olderSince.get(key) ?? now;
      this.o.tracking.olderSince.set(key, since);
      if (now - since < OLDER_VERSION_GIVE_UP_MS) {
        this.o.logger.info(
          { secretsync: key, source: older },
          'read an older version than already synced; retrying shortly',
        );
        this.o.resolver.invalidate(older.slice('ssm:'.length));
        return requeueAfter(OLDER_VERSION_RETRY_MS);
      }
      this.o.logger.warn(
        { secretsync: key, source: older, forMs: now - since },
        'still an older version than already synced: the parameter was deleted and created again; syncing it',
      );
    }
    this.o.tracking.olderSince.delete(key);

    const desired = desiredSecret(s, resolved.data);
    const decision = await this.writeSecret(key, s, desired, resolved);
    const rolloutProblems = await this.rollout(s, desired.hash);
    await this.writeStatus(s, desired.hash, resolved, decision, rolloutProblems);
    return done; // the next periodic read is the RefreshScheduler's (batched with its cohort)
  }

  /** 1. Policy: default deny, and no AWS call for a namespace without a grant. */
  private async admit(s: SecretSync): Promise<Grants> {
    const ns = s.metadata.namespace!;
    const grants = grantsFor(ns, await this.o.view.namespaceLabels(ns), this.o.view.policies());
    let denied: string[];
    try {
      denied = deniedSources(s.spec, grants);
    } catch (err) {
      await this.fail(s, 'InvalidSpec', errMessage(err));
      this.o.metrics.reconciles.inc({ result: 'invalid' });
      throw new TerminalError(errMessage(err), 'InvalidSpec');
    }
    if (denied.length > 0) {
      const msg = `no SourcePolicy grants namespace ${ns}: ${denied.join(', ')}`;
      await this.fail(s, 'AccessDenied', msg);
      this.o.metrics.reconciles.inc({ result: 'denied' });
      // a SourcePolicy change, or new labels on the namespace, requeue it
      throw new TerminalError(msg, 'AccessDenied');
    }
    return grants;
  }

  /** 2. Resolve through the shared resolver; a failure is retried with backoff. */
  private async resolve(s: SecretSync, grants: Grants): Promise<ResolvedData> {
    try {
      return await resolveSources(s.spec, this.o.resolver, grants);
    } catch (err) {
      const notFound = isStrataError(err) && err.issues.every((i) => i.code === 'NOT_FOUND');
      const msg = isStrataError(err)
        ? `${err.issues.length} source problem(s):\n${formatIssues(err.issues)}`
        : errMessage(err);
      await this.fail(s, notFound ? 'SourceNotFound' : 'SourceError', msg);
      this.o.metrics.reconciles.inc({ result: 'source_error' });
      throw err;
    }
  }

  /** Never write an older SSM version than the one recorded (out-of-order events, lagging reads). */
  private olderThanSynced(s: SecretSync, resolved: ResolvedData): string | undefined {
    const recorded = new Map((s.status?.sourceVersions ?? []).map((v) => [v.source, v.version]));
    return resolved.versions.find(
      (v) =>
        v.source.startsWith('ssm:') &&
        recorded.has(v.source) &&
        Number(v.version) < Number(recorded.get(v.source)),
    )?.source;
  }

  /** 3. Write the Secret when its content differs (server-side apply). */
  private async writeSecret(
    key: string,
    s: SecretSync,
    desired: ReturnType<typeof desiredSecret>,
    resolved: ResolvedData,
  ): Promise<WriteDecision> {
    const ns = s.metadata.namespace!;
    const target = s.spec.target.name;
    const existing = await this.o.view.readSecret(ns, target);
    const decision = decideWrite(s, desired, existing as Parameters<typeof decideWrite>[2]);
    if (decision.action === 'conflict') {
      await this.fail(s, 'Conflict', decision.reason);
      this.o.metrics.reconciles.inc({ result: 'conflict' });
      throw new TerminalError(decision.reason, 'Conflict');
    }
    if (decision.action !== 'none') {
      try {
        await this.o.kube.apply(paths.secret(ns, target), desired.secret, {
          fieldManager: FIELD_MANAGER,
          force: true,
        });
      } catch (err) {
        await this.fail(s, 'WriteFailed', `could not write Secret ${target}: ${errMessage(err)}`);
        throw err;
      }
      this.o.view.secretWritten(ns, target);
      const keys = Object.keys(resolved.data).length;
      this.o.tracking.lastWritten.set(key, desired.hash);
      this.o.metrics.secretWrites.inc({ action: decision.action });
      this.o.logger.info(
        { secretsync: key, secret: target, action: decision.action, keys },
        'secret written',
      );
      // The first sync of a SecretSync is told by its status (Ready=True, Synced) and no Event:
      // at 10,000 SecretSyncs that is 10,000 Events fewer at start. A Secret written after that
      // (values changed, drift repaired, deleted and created again) gets a Normal Event.
      const firstSync = decision.action === 'create' && !s.status?.contentHash;
      if (!firstSync) {
        const recreated = decision.action === 'create';
        await this.o.recorder.record(
          s,
          'Normal',
          decision.action === 'repair' || recreated ? 'DriftRepaired' : 'Synced',
          recreated
            ? `created Secret ${target} again with ${keys} keys (it was deleted outside Strata)`
            : `updated Secret ${target} with ${keys} keys (${decision.reason})`,
        );
      }
      const t = this.o.tracking.eventAt.get(key);
      if (t !== undefined) this.o.metrics.eventLag.observe((this.o.clock.now() - t) / 1000);
    }
    this.o.tracking.eventAt.delete(key);
    return decision;
  }

  /** 4. Roll workloads whose pod template does not carry this content hash yet. */
  private async rollout(s: SecretSync, hash: string): Promise<string[]> {
    const problems: string[] = [];
    for (const w of s.spec.rollout ?? []) {
      const path = paths.workload(s.metadata.namespace!, w.kind, w.name);
      try {
        const obj = await this.o.kube.get<{
          spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
        }>(path);
        if (!obj) {
          problems.push(`${w.kind} ${w.name} not found`);
          continue;
        }
        if (obj.spec?.template?.metadata?.annotations?.[HASH_ANNOTATION] === hash) continue;
        await this.o.kube.mergePatch(path, {
          spec: { template: { metadata: { annotations: { [HASH_ANNOTATION]: hash } } } },
        });
        await this.o.recorder.record(
          s,
          'Normal',
          'RolloutTriggered',
          `rolled ${w.kind} ${w.name} for the new content`,
        );
      } catch (err) {
        problems.push(`${w.kind} ${w.name}: ${errMessage(err)}`);
      }
    }
    return problems;
  }

  /** 5. Status: Ready, the content hash and the source versions (never values). */
  private async writeStatus(
    s: SecretSync,
    hash: string,
    resolved: ResolvedData,
    decision: WriteDecision,
    rolloutProblems: string[],
  ): Promise<void> {
    const ok = rolloutProblems.length === 0;
    const keys = Object.keys(resolved.data).length;
    const status = nextStatus(s.status, {
      ready: ok,
      reason: ok ? 'Synced' : 'RolloutFailed',
      message: ok ? `Secret ${s.spec.target.name} in sync (${keys} keys)` : rolloutProblems.join('; '),
      generation: s.metadata.generation,
      now: new Date(this.o.clock.now()),
      contentHash: hash,
      sourceVersions: resolved.versions,
      syncedKeys: keys,
      synced: decision.action !== 'none' || s.status?.contentHash !== hash || !s.status?.lastSyncTime,
    });
    if (!ok) await this.o.recorder.record(s, 'Warning', 'RolloutFailed', rolloutProblems.join('; '));
    await this.setStatus(s, status);
    this.o.metrics.lastSuccess.set(
      { namespace: s.metadata.namespace!, name: s.metadata.name },
      this.o.clock.now() / 1000,
    );
    this.o.metrics.reconciles.inc({ result: decision.action === 'none' ? 'unchanged' : 'written' });
  }

  private async setStatus(s: SecretSync, status: SecretSyncStatus): Promise<void> {
    if (!statusChanged(s.status, status)) return;
    await this.o.kube.mergePatch(paths.secretSyncStatus(s.metadata.namespace!, s.metadata.name), { status });
  }

  /** Not Ready: status, and a Warning Event when the reason or message is new. */
  private async fail(s: SecretSync, reason: ReadyReason, message: string): Promise<void> {
    const prev = s.status?.conditions?.find((c) => c.type === 'Ready');
    const status = nextStatus(s.status, {
      ready: false,
      reason,
      message,
      generation: s.metadata.generation,
      now: new Date(this.o.clock.now()),
    });
    const repeated =
      prev?.status === 'False' &&
      prev.reason === reason &&
      prev.message === status.conditions!.at(-1)!.message;
    if (!repeated) await this.o.recorder.record(s, 'Warning', reason, message);
    await this.setStatus(s, status);
    this.o.metrics.reconcileErrors.inc({ reason });
  }
}
