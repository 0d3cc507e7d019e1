import { describe, expect, it } from 'vitest';
import { done, type FailureInfo, requeueAfter, TerminalError, WorkQueue } from '../src/queue.js';
import { ManualClock, settle } from './manual-clock.js';

describe('work queue', () => {
  it('dedupes, never runs one key twice at once, and re-runs a key changed while running', async () => {
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const q = new WorkQueue({
      concurrency: 1,
      clock: new ManualClock(),
      handler: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(key);
        if (runs.length === 1) await gate;
        active--;
        return done;
      },
    });
    q.start();
    q.add('a');
    q.add('a'); // while running: marks dirty
    q.add('b'); // waiting behind 'a' (concurrency 1) …
    q.add('b'); // … so this one is merged with it
    await settle();
    expect(runs).toEqual(['a']);
    release();
    await settle();
    expect(runs.sort()).toEqual(['a', 'a', 'b']);
    expect(maxActive).toBe(1);
    await q.stop();
  });

  it('runs at most `concurrency` keys at once', async () => {
    let active = 0;
    let maxActive = 0;
    const releases: Array<() => void> = [];
    const q = new WorkQueue({
      concurrency: 3,
      clock: new ManualClock(),
      handler: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => releases.push(r));
        active--;
        return done;
      },
    });
    q.start();
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await settle();
    expect(active).toBe(3);
    while (releases.length > 0) {
      releases.shift()!();
      await settle();
    }
    expect(maxActive).toBe(3);
    await q.stop();
  });
});

describe('reconcile contract', () => {
  function queue(handler: (key: string, n: number) => Promise<ReturnType<typeof requeueAfter>>) {
    const clock = new ManualClock();
    const runs: number[] = [];
    const errors: FailureInfo[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      clock,
      baseBackoffMs: 500,
      maxBackoffMs: 4000,
      handler: (key) => {
        runs.push(clock.now());
        return handler(key, runs.length);
      },
      onError: (_k, _e, info) => errors.push(info),
    });
    q.start();
    return { q, clock, runs, errors };
  }

  it('done: the key runs again only when added again', async () => {
    const { q, clock, runs } = queue(async () => done);
    q.add('k');
    await clock.advance(3_600_000);
    expect(runs).toHaveLength(1);
    q.add('k');
    await settle();
    expect(runs).toHaveLength(2);
    await q.stop();
  });

  it('requeueAfter: the key runs again after that delay, not before', async () => {
    const { q, clock, runs } = queue(async (_k, n) => (n === 1 ? requeueAfter(2000) : done));
    const start = clock.now();
    q.add('k');
    await clock.advance(1999);
    expect(runs).toHaveLength(1);
    await clock.advance(1);
    expect(runs).toEqual([start, start + 2000]);
    await clock.advance(60_000);
    expect(runs).toHaveLength(2);
    await q.stop();
  });

  it('an ordinary error is retried with per-key exponential backoff, capped', async () => {
    const { q, clock, runs, errors } = queue(async (_k, n) => {
      if (n <= 5) throw new Error('AWS unreachable');
      return done;
    });
    const start = clock.now();
    q.add('k');
    await clock.advance(60_000);
    expect(runs.map((t) => t - start)).toEqual([0, 500, 1500, 3500, 7500, 11_500]);
    expect(errors.map((e) => e.retryInMs)).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(errors.every((e) => !e.terminal)).toBe(true);
    await q.stop();
  });

  it('a TerminalError is not retried until the key is added again, and resets the backoff', async () => {
    const { q, clock, runs, errors } = queue(async (_k, n) => {
      if (n === 1) throw new Error('transient');
      if (n === 2) throw new TerminalError('no SourcePolicy grants namespace a', 'AccessDenied');
      throw new Error('transient again');
    });
    q.add('k');
    await clock.advance(3_600_000);
    expect(runs).toHaveLength(2);
    expect(errors.at(-1)).toEqual({ failures: 2, terminal: true });
    q.add('k'); // e.g. a SourcePolicy changed
    await settle();
    expect(runs).toHaveLength(3);
    expect(errors.at(-1)).toMatchObject({ failures: 1, retryInMs: 500, terminal: false });
    await q.stop();
  });

  it('adding a key waiting for its retry runs it at once', async () => {
    const { q, clock, runs } = queue(async (_k, n) => (n === 1 ? requeueAfter(60_000) : done));
    q.add('k');
    await settle();
    q.add('k');
    await settle();
    expect(runs).toHaveLength(2);
    await clock.advance(120_000);
    expect(runs).toHaveLength(2);
    expect(q.depth).toBe(0);
    await q.stop();
  });

  it('stop() waits for in-flight work and cancels scheduled retries', async () => {
    let release!: () => void;
    const { q, clock, runs } = queue(async (k) => {
      if (k === 'slow') await new Promise<void>((r) => (release = r));
      return requeueAfter(1000);
    });
    q.add('slow');
    await settle();
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    await clock.advance(10_000);
    expect(runs).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});
