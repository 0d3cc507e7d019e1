import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefreshScheduler } from '../src/refresh.js';

describe('periodic refresh: SecretSyncs due together are refreshed in one batch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function scheduler(jitter = 0) {
    const turns: Array<{ at: number; keys: string[]; intervalMs: number }> = [];
    const s = new RefreshScheduler({
      jitter,
      random: () => 1, // the longest jittered delay
      refresh: async (keys, intervalMs) => {
        turns.push({ at: Date.now(), keys: [...keys].sort(), intervalMs });
      },
    });
    return { s, turns };
  }

  it('refreshes each interval cohort as a whole, every interval, only while started', async () => {
    const { s, turns } = scheduler();
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) s.set(`ns/a${i}`, 10_000);
    s.set('ns/b', 60_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(turns).toEqual([]); // not leading: no timers
    s.start();
    await vi.advanceTimersByTimeAsync(35_000);
    const tens = turns.filter((t) => t.intervalMs === 10_000);
    expect(tens.map((t) => t.at - t0)).toEqual([40_000, 50_000, 60_000]);
    for (const t of tens) expect(t.keys).toHaveLength(40); // one call for the 40 due together
    expect(turns.filter((t) => t.intervalMs === 60_000)).toEqual([]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(turns.filter((t) => t.intervalMs === 60_000)).toEqual([
      { at: t0 + 90_000, keys: ['ns/b'], intervalMs: 60_000 },
    ]);
    s.stop();
    const n = turns.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(turns).toHaveLength(n);
  });

  it('moves a SecretSync whose interval changed, and forgets deleted ones', async () => {
    const { s, turns } = scheduler();
    s.start();
    s.set('ns/a', 10_000);
    s.set('ns/b', 10_000);
    s.set('ns/b', 20_000);
    s.delete('ns/a');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(turns.map((t) => [t.intervalMs, t.keys])).toEqual([[20_000, ['ns/b']]]);
    expect(s.snapshot().map((c) => [c.intervalMs, c.size])).toEqual([[20_000, 1]]);
  });

  it('jitters each turn within ± the fraction, and never fires faster than once a second', async () => {
    const { s, turns } = scheduler(0.1);
    s.set('ns/a', 10_000);
    s.set('ns/fast', 1);
    s.start();
    await vi.advanceTimersByTimeAsync(11_000);
    expect(turns.filter((t) => t.intervalMs === 10_000)).toHaveLength(1); // at 11 s (random() = 1)
    expect(turns.filter((t) => t.intervalMs === 1000).length).toBeLessThanOrEqual(10);
  });

  it('a failed turn is reported and the cohort keeps its schedule', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const s = new RefreshScheduler({
      jitter: 0,
      refresh: async () => {
        calls++;
        throw new Error('AWS down');
      },
      onError: (e) => errors.push(e),
    });
    s.set('ns/a', 5000);
    s.start();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(calls).toBe(3);
    expect(errors).toHaveLength(3);
  });
});
