/** Time for the operator's loops (queue, leader election, Events), injectable so tests control it. */
export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; never keeps the process alive on its own. */
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

/** An opaque handle from `Clock.setTimeout`. */
export type Timer = object;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};
