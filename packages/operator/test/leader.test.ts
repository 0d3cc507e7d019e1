import { describe, expect, it } from 'vitest';
import { type LeaseObservation, leaseHeldByOther, microTime } from '../src/leader.js';

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
