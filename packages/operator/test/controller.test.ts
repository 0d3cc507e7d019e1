import { KubeConfig } from '@kubernetes/client-node';
import { createResolver, LocalBackend } from '@strata/core';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../src/controller.js';
import { createMetrics } from '../src/metrics.js';
import { FakeKube } from './fake-kube.js';
import { ManualClock } from './manual-clock.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('the controller on a resolver shared with the application', () => {
  it("a rotation event drops only the operator's own source from the shared cache", async () => {
    const param = (value: string) => ({ value, type: 'String' as const, version: 1, labels: [] });
    const backend = new LocalBackend({
      parameters: new Map([
        ['/app/dev/pw', param('a')],
        ['/other/setting', param('x')],
      ]),
      secrets: new Map(),
    });
    const resolver = createResolver({ backend });
    closers.push(() => resolver.close());
    const controller = new Controller({
      kubeConfig: new KubeConfig(),
      kube: new FakeKube(),
      resolver,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      clock: new ManualClock(),
    });
    controller.deps.set('team-a/app', {
      target: { name: 'app' },
      sources: [{ refs: { pw: '<<resolve:ssm:/app/dev/pw>>' } }],
    });
    // the application and the operator both read through the resolver
    await resolver.getParameter({ name: '/other/setting' });
    await resolver.getParameter({ name: '/app/dev/pw' });
    const calls = () => Object.values(backend.stats.snapshot().calls).reduce((a, b) => a + b, 0);
    const before = calls();

    // an event for a source no SecretSync reads: nothing to requeue, the app's entry stays cached
    expect(controller.onSourceChanged({ kind: 'ssm', name: '/other/setting' })).toEqual([]);
    await resolver.getParameter({ name: '/other/setting' });
    expect(calls()).toBe(before);

    // an event for the operator's source: its SecretSync is requeued and only that entry is re-read
    expect(controller.onSourceChanged({ kind: 'ssm', name: '/app/dev/pw' })).toEqual(['team-a/app']);
    await resolver.getParameter({ name: '/other/setting' });
    expect(calls()).toBe(before);
    await resolver.getParameter({ name: '/app/dev/pw' });
    expect(calls()).toBe(before + 1);
    expect(controller.queue.depth).toBe(1);
  });
});
