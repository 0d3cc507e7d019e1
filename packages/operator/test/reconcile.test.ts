import { createResolver, LocalBackend, type LocalTree } from '@strata/core';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { UncachedSecrets } from '../src/informers.js';
import { paths } from '../src/kube.js';
import { createMetrics } from '../src/metrics.js';
import { done, TerminalError } from '../src/queue.js';
import { Reconciler, Tracking } from '../src/reconcile.js';
import { EventRecorder } from '../src/recorder.js';
import { API_VERSION, type SecretSync, type SecretSyncSpec, type SourcePolicy } from '../src/types.js';
import { FakeKube } from './fake-kube.js';
import { ManualClock } from './manual-clock.js';

const VALUE = 'hunter2-do-not-leak';
const logger = pino({ level: 'silent' });
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const policy: SourcePolicy = {
  apiVersion: API_VERSION,
  kind: 'SourcePolicy',
  metadata: { name: 'team-a' },
  spec: { namespaces: { names: ['team-a'] }, ssm: { paths: ['/app'] }, secretsManager: { names: ['app/*'] } },
};

function setup(spec: SecretSyncSpec, opts: { policies?: SourcePolicy[] } = {}) {
  const tree: LocalTree = {
    parameters: new Map([['/app/dev/pw', { value: VALUE, type: 'SecureString', version: 1, labels: [] }]]),
    secrets: new Map([['app/not-json', `{${VALUE}`]]),
  };
  const backend = new LocalBackend(tree);
  const resolver = createResolver({ backend });
  closers.push(() => resolver.close());
  const kube = new FakeKube();
  const clock = new ManualClock();
  const metrics = createMetrics();
  const syncPath = paths.secretSync('team-a', 'app');
  const addSync = (name: string, target: string) =>
    kube.objects.set(paths.secretSync('team-a', name), {
      apiVersion: API_VERSION,
      kind: 'SecretSync',
      metadata: { name, namespace: 'team-a', uid: `u-${name}`, generation: 1 },
      spec: { ...spec, target: { ...spec.target, name: target } },
    } as never);
  addSync('app', spec.target.name);
  // no informer here: every Secret is "not in the cache", as before its first write
  const uncached = new UncachedSecrets({ kube, clock });
  const reconciler = new Reconciler({
    kube,
    resolver,
    view: {
      readSync: (ns, name) => kube.get(paths.secretSync(ns, name)),
      readSecret: (ns, name) => uncached.read(ns, name),
      secretWritten: (ns, name) => uncached.written(ns, name),
      namespaceLabels: async () => ({}),
      policies: () => opts.policies ?? [policy],
    },
    recorder: new EventRecorder({ kube, logger, clock }),
    tracking: new Tracking(),
    refresher: { set: () => {}, delete: () => {} },
    metrics,
    logger,
    clock,
    defaultRefreshMs: 3_600_000,
  });
  const secret = () =>
    kube.objects.get(paths.secret('team-a', 'target')) as { data?: Record<string, string> };
  const status = () => (kube.objects.get(syncPath) as unknown as SecretSync).status;
  const eventWrites = () => kube.requests('/events').filter((r) => r.method !== 'GET');
  /** Every request except Event writes and reads of the SecretSync itself, as `METHOD kind`. */
  const writesAndReads = () =>
    kube.log
      .filter((r) => !r.path.includes('/events') && !(r.method === 'GET' && r.path.includes('/secretsyncs/')))
      .map((r) => `${r.method} ${r.path.replace(/\?.*$/, '').replace(/^.*\/namespaces\/team-a\//, '')}`);
  return {
    tree,
    backend,
    resolver,
    kube,
    clock,
    reconciler,
    secret,
    status,
    eventWrites,
    addSync,
    writesAndReads,
  };
}

const refsSpec: SecretSyncSpec = {
  target: { name: 'target' },
  sources: [{ refs: { password: '<<resolve:ssm:/app/dev/pw>>' } }],
};

/** Every request body except the Secret itself, as text (what status, Events and logs could carry). */
function outsideTheSecret(kube: FakeKube): string {
  return JSON.stringify(kube.log.filter((r) => !r.path.includes('/secrets/target')));
}

describe('reconcile', () => {
  it('writes the Secret and reports Ready; status and Events carry no value', async () => {
    const t = setup(refsSpec);
    await expect(t.reconciler.reconcile('team-a/app')).resolves.toBe(done);
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(VALUE);
    expect(t.status()?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Synced' });
    const text = outsideTheSecret(t.kube);
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(Buffer.from(VALUE).toString('base64'));
  });

  it('a first sync makes 3 requests: one listing of the namespace (names only), the apply, the status; no Event', async () => {
    const t = setup(refsSpec);
    await t.reconciler.reconcile('team-a/app');
    expect(t.writesAndReads()).toEqual([
      'LIST secrets',
      'APPLY secrets/target',
      'PATCH secretsyncs/app/status',
    ]);
    expect(t.eventWrites()).toHaveLength(0); // Ready=True, reason Synced in its status tells it
    // a second SecretSync of the namespace right after shares that listing: 2 requests
    t.addSync('other', 'other-target');
    t.kube.log.length = 0;
    await expect(t.reconciler.reconcile('team-a/other')).resolves.toBe(done);
    expect(t.writesAndReads()).toEqual(['APPLY secrets/other-target', 'PATCH secretsyncs/other/status']);
    // after the listing's reuse window, the next one lists again
    t.addSync('third', 'third-target');
    t.kube.log.length = 0;
    await t.clock.advance(1000);
    await t.reconciler.reconcile('team-a/third');
    expect(t.writesAndReads()).toEqual([
      'LIST secrets',
      'APPLY secrets/third-target',
      'PATCH secretsyncs/third/status',
    ]);
  });

  it('nothing changed: no request at all (no apply, no status patch, no Event)', async () => {
    const t = setup(refsSpec);
    await t.reconciler.reconcile('team-a/app');
    const synced = t.status();
    t.kube.log.length = 0;
    await t.clock.advance(60_000);
    await expect(t.reconciler.reconcile('team-a/app')).resolves.toBe(done);
    expect(t.writesAndReads().filter((r) => !r.startsWith('LIST') && !r.startsWith('GET'))).toEqual([]);
    expect(t.eventWrites()).toHaveLength(0);
    expect(t.status()).toEqual(synced);
  });

  it('after the first sync, a changed value and a Secret deleted by hand each get a Normal Event', async () => {
    const t = setup(refsSpec);
    await t.reconciler.reconcile('team-a/app');
    t.tree.parameters.set('/app/dev/pw', {
      value: `${VALUE}-2`,
      type: 'SecureString',
      version: 2,
      labels: [],
    });
    t.resolver.invalidate('/app/dev/pw');
    await t.reconciler.reconcile('team-a/app');
    t.kube.objects.delete(paths.secret('team-a', 'target'));
    await t.clock.advance(1000);
    await t.reconciler.reconcile('team-a/app');
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(`${VALUE}-2`);
    const events = t.kube.list<{ reason: string; type: string; message: string }>(
      '/api/v1/namespaces/team-a/events/',
    );
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ['Normal', 'Synced'],
      ['Normal', 'DriftRepaired'],
    ]);
    expect(events[1]!.message).toContain('deleted outside Strata');
    expect(JSON.stringify(events)).not.toContain(VALUE);
  });

  it('a namespace without a grant: TerminalError (not retried), AccessDenied, no AWS call', async () => {
    const t = setup(refsSpec, { policies: [] });
    const err = await t.reconciler.reconcile('team-a/app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as TerminalError).reason).toBe('AccessDenied');
    expect(t.status()?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'AccessDenied' });
    expect(t.backend.stats.snapshot().calls).toEqual({});
    expect(t.secret()).toBeUndefined();
  });

  it('a Secret Strata does not manage: TerminalError (Conflict), the Secret untouched', async () => {
    const t = setup(refsSpec);
    t.kube.objects.set(paths.secret('team-a', 'target'), {
      metadata: { name: 'target' },
      data: { x: 'eA==' },
    });
    const err = await t.reconciler.reconcile('team-a/app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(t.status()?.conditions?.[0]?.reason).toBe('Conflict');
    expect(t.secret().data).toEqual({ x: 'eA==' });
    // the listing named it, so it was read in full (and never written)
    expect(t.writesAndReads()).toEqual([
      'LIST secrets',
      'GET secrets/target',
      'PATCH secretsyncs/app/status',
    ]);
    expect(t.eventWrites()).toHaveLength(1); // the Conflict Warning
  });

  it('a source that fails is retried (an ordinary error), and its error names no value', async () => {
    const t = setup({ target: { name: 'target' }, sources: [{ secretJSON: { secretId: 'app/not-json' } }] });
    const err = await t.reconciler.reconcile('team-a/app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TerminalError);
    expect(t.status()?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'SourceError' });
    expect(t.status()?.conditions?.[0]?.message).toContain('app/not-json');
    expect(outsideTheSecret(t.kube)).not.toContain(VALUE);
  });

  it('a value flapping 100 times in a minute reaches the Secret each time; its Events stay bounded', async () => {
    const t = setup(refsSpec);
    for (let i = 1; i <= 100; i++) {
      t.tree.parameters.set('/app/dev/pw', {
        value: i % 2 ? `${VALUE}-b` : VALUE,
        type: 'SecureString',
        version: i + 1,
        labels: [],
      });
      t.resolver.invalidate('/app/dev/pw'); // what a rotation event does
      await expect(t.reconciler.reconcile('team-a/app')).resolves.toBe(done);
      await t.clock.advance(600);
    }
    expect(t.kube.requests('/secrets/target', 'APPLY')).toHaveLength(100);
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(VALUE);
    expect(t.eventWrites().length).toBeLessThanOrEqual(5);
    expect(t.status()?.sourceVersions).toEqual([{ source: 'ssm:/app/dev/pw', version: '101' }]);
  });
  it('a parameter deleted and created again (its version back to 1) is synced once it stays so, not re-read forever', async () => {
    const t = setup(refsSpec);
    const put = (value: string, version: number) => {
      t.tree.parameters.set('/app/dev/pw', { value, type: 'SecureString', version, labels: [] });
      t.resolver.invalidate('/app/dev/pw'); // what a rotation event does
    };
    put(`${VALUE}-v3`, 3);
    await expect(t.reconciler.reconcile('team-a/app')).resolves.toBe(done);
    put(`${VALUE}-new`, 1); // deleted and created again
    // first taken for a lagging read: retried shortly, nothing written
    await expect(t.reconciler.reconcile('team-a/app')).resolves.toEqual({ requeueAfterMs: 2000 });
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(`${VALUE}-v3`);
    for (let i = 0; i < 20; i++) {
      await t.clock.advance(2000);
      if ((await t.reconciler.reconcile('team-a/app')) === done) break;
    }
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(`${VALUE}-new`);
    expect(t.status()?.sourceVersions).toEqual([{ source: 'ssm:/app/dev/pw', version: '1' }]);
    // from then on it is the synced version: the next change is written at once
    put(`${VALUE}-next`, 2);
    await expect(t.reconciler.reconcile('team-a/app')).resolves.toBe(done);
    expect(Buffer.from(t.secret().data!.password!, 'base64').toString()).toBe(`${VALUE}-next`);
  });
});
