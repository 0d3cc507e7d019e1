import { describe, expect, it } from 'vitest';
import { KubeError } from '../src/kube.js';
import { LeaderElector, type LeaseObservation, leaseHeldByOther, microTime } from '../src/leader.js';
import { FakeKube } from './fake-kube.js';
import { ManualClock } from './manual-clock.js';

describe('leader election judges expiry on its own clock (client-go)', () => {
  const spec = (renewTime: Date) => ({
    holderIdentity: 'op-a',
    leaseDurationSeconds: 15,
    renewTime: microTime(renewTime),
  });

  it('a live lease stays held whatever the holder wrote in renewTime (clock skew)', () => {
    const local = 1_000_000_000_000;
    // the holder's clock is an hour behind ours: its renewTime looks an hour old
    const s = spec(new Date(local - 3_600_000));
    const seen: LeaseObservation = { record: JSON.stringify(s), at: local - 2000 };
    expect(leaseHeldByOther(s, seen, local, 'op-b')).toBe(true);
    // and an hour ahead: still judged by when we saw it change, not by the future timestamp
    const ahead = spec(new Date(local + 3_600_000));
    const seenAhead: LeaseObservation = { record: JSON.stringify(ahead), at: local - 16_000 };
    expect(leaseHeldByOther(ahead, seenAhead, local, 'op-b')).toBe(false);
  });

  it('expires a lease duration after the record last changed, measured locally', () => {
    const s = spec(new Date(0));
    const seen: LeaseObservation = { record: JSON.stringify(s), at: 50_000 };
    expect(leaseHeldByOther(s, seen, 64_999, 'op-b')).toBe(true);
    expect(leaseHeldByOther(s, seen, 65_001, 'op-b')).toBe(false);
  });

  it('a released (empty) lease, or our own, is never held by another', () => {
    const seen: LeaseObservation = { record: '', at: 0 };
    expect(leaseHeldByOther({ holderIdentity: '' }, seen, 0, 'op-b')).toBe(false);
    expect(leaseHeldByOther({ holderIdentity: 'op-b', leaseDurationSeconds: 15 }, seen, 0, 'op-b')).toBe(
      false,
    );
  });
});

describe('LeaderElector on an injected clock', () => {
  function candidates(opts: { skewB?: number } = {}) {
    const kube = new FakeKube();
    const clock = new ManualClock();
    const log: string[] = [];
    const make = (identity: string, skew = 0) =>
      new LeaderElector({
        client: kube,
        namespace: 'strata-system',
        name: 'strata-operator',
        identity,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2000,
        clock,
        ...(skew ? { now: () => clock.now() + skew } : {}),
        onStartedLeading: () => log.push(`${identity} leads`),
        onStoppedLeading: () => log.push(`${identity} stops`),
      });
    const a = make('op-a');
    const b = make('op-b', opts.skewB);
    /** Advances in retry-period steps, checking that two never lead at once. */
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 1000) {
        await clock.advance(1000);
        expect(a.isLeader && b.isLeader).toBe(false);
      }
    };
    return { kube, clock, log, a, b, run };
  }

  it('one candidate leads; a standby takes over a lease duration after the leader vanishes', async () => {
    const { a, b, run, log } = candidates();
    a.start();
    await run(1000);
    b.start();
    await run(60_000);
    expect(log).toEqual(['op-a leads']);
    a.stop(); // a crash: the Lease is not released, just no longer renewed
    await run(10_000);
    expect(b.isLeader).toBe(false);
    await run(10_000);
    expect(b.isLeader).toBe(true);
    expect(log).toEqual(['op-a leads', 'op-a stops', 'op-b leads']);
    b.stop();
  });

  it('release() hands the Lease over within one retry period', async () => {
    const { a, b, run } = candidates();
    a.start();
    await run(1000);
    b.start();
    await run(5000);
    await a.release();
    await run(2000);
    expect(b.isLeader).toBe(true);
    b.stop();
  });

  it('a standby whose clock runs two hours ahead never takes a live Lease', async () => {
    const { a, b, run, log } = candidates({ skewB: 7_200_000 });
    a.start();
    await run(1000);
    b.start();
    await run(120_000);
    expect(a.isLeader).toBe(true);
    expect(log).toEqual(['op-a leads']);
    a.stop();
    b.stop();
  });

  it('a leader that cannot renew within renewDeadline stops leading', async () => {
    const { a, kube, run, log } = candidates();
    a.start();
    await run(1000);
    kube.failWith = (method) =>
      method === 'PUT' || method === 'GET'
        ? new KubeError(503, 'ServiceUnavailable', 'unavailable')
        : undefined;
    await run(8000);
    expect(a.isLeader).toBe(true);
    await run(6000);
    expect(a.isLeader).toBe(false);
    expect(log).toEqual(['op-a leads', 'op-a stops']);
    a.stop();
  });
});
