import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KubeError } from '../src/kube.js';
import { EventRecorder } from '../src/recorder.js';
import { FakeKube } from './fake-kube.js';
import { ManualClock } from './manual-clock.js';

const sync = { kind: 'SecretSync' as const, metadata: { name: 'app', namespace: 'team-a', uid: 'u1' } };
const logger = pino({ level: 'silent' });

interface EventObj {
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  involvedObject: { name: string; uid?: string };
}

function setup(opts: { burst?: number; windowMs?: number } = {}) {
  const kube = new FakeKube();
  const clock = new ManualClock();
  const results: string[] = [];
  const recorder = new EventRecorder({ kube, logger, clock, onResult: (r) => results.push(r), ...opts });
  const writes = () => kube.requests('/events').filter((r) => r.method !== 'GET');
  const events = () => kube.list<EventObj>('/api/v1/namespaces/team-a/events/');
  return { kube, clock, recorder, results, writes, events };
}

describe('Events recorder', () => {
  it('the same Event again raises the count of the one already written', async () => {
    const { recorder, clock, events, kube } = setup();
    for (let i = 0; i < 3; i++) {
      await recorder.record(sync, 'Warning', 'SourceNotFound', 'parameter /app/dev/db not found');
      await clock.advance(1000);
    }
    expect(kube.requests('/events', 'POST')).toHaveLength(1);
    const [e] = events();
    expect(e).toMatchObject({
      reason: 'SourceNotFound',
      count: 3,
      involvedObject: { name: 'app', uid: 'u1' },
    });
    expect(Date.parse(e!.lastTimestamp) - Date.parse(e!.firstTimestamp)).toBe(2000);
  });

  it('a source flapping 100 times in a minute writes a bounded number of Events', async () => {
    const { recorder, clock, writes, events, results } = setup({ burst: 5, windowMs: 600_000 });
    for (let i = 0; i < 100; i++) {
      // each flap: the source fails, then comes back and the Secret is rewritten
      await recorder.record(sync, 'Warning', 'SourceError', '1 source problem(s): /app/dev/db: throttled');
      await recorder.record(
        sync,
        'Normal',
        'Synced',
        'updated Secret app-secret with 3 keys (content changed)',
      );
      await clock.advance(600);
    }
    // 5 writes per reason in the window, 2 reasons; the other 190 are counted, not written
    expect(writes()).toHaveLength(10);
    expect(results.filter((r) => r === 'suppressed')).toHaveLength(190);
    expect(events()).toHaveLength(2);
    // the window over, the next write carries every occurrence in its count
    await clock.advance(600_000);
    await recorder.record(
      sync,
      'Normal',
      'Synced',
      'updated Secret app-secret with 3 keys (content changed)',
    );
    expect(writes()).toHaveLength(11);
    expect(events().find((e) => e.reason === 'Synced')!.count).toBe(101);
  });

  it('budgets each object apart: one flapping SecretSync does not silence another', async () => {
    const { recorder, writes } = setup({ burst: 2 });
    const other = {
      kind: 'SecretSync' as const,
      metadata: { name: 'other', namespace: 'team-a', uid: 'u2' },
    };
    for (let i = 0; i < 10; i++) await recorder.record(sync, 'Normal', 'Synced', `m${i}`);
    await recorder.record(other, 'Normal', 'Synced', 'updated');
    expect(writes().map((w) => (w.body as { involvedObject: { name: string } }).involvedObject.name)).toEqual(
      ['app', 'app', 'other'],
    );
  });

  it('an expired Event is written anew; a failed write is logged, never thrown', async () => {
    const { recorder, kube, events } = setup();
    await recorder.record(sync, 'Normal', 'Synced', 'updated');
    kube.objects.clear(); // the API server dropped it (Events live an hour)
    await recorder.record(sync, 'Normal', 'Synced', 'updated');
    expect(events()).toHaveLength(1);
    expect(events()[0]!.count).toBe(2);
    kube.failWith = () => new KubeError(503, 'ServiceUnavailable', 'POST events: unavailable');
    await expect(recorder.record(sync, 'Warning', 'Conflict', 'x')).resolves.toBeUndefined();
  });
});
