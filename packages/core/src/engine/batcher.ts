/**
 * Collects the reads made in one tick (or one window) and sends them as batches: the references of
 * one depth level become a few backend calls instead of one each. `groupOf` and `maxBatch` cut a
 * batch into the calls AWS accepts (GetParameters: at most 10 names, all of one region); the calls
 * run concurrently (the backend bounds how many are in flight). Each read gets its own outcome.
 */
import type { Outcome } from '../backend.js';

export interface BatcherOptions<Q> {
  /** How long reads are collected, ms. 0: the current tick only (flushed on `setImmediate`). */
  windowMs?: number;
  /** Waits `windowMs` (the injected runtime's sleep, so tests control the window). */
  sleep: (ms: number) => Promise<void>;
  /** Reads of different groups (regions) never share a call. Default: one group. */
  groupOf?: (q: Q) => string;
  /** Most reads in one call. Default: no limit. */
  maxBatch?: number;
}

interface Pending<Q, R> {
  q: Q;
  resolve: (o: Outcome<R>) => void;
  reject: (e: unknown) => void;
}

export class Batcher<Q, R> {
  private pending: Array<Pending<Q, R>> = [];
  private scheduled = false;

  constructor(
    private readonly run: (queries: Q[]) => Promise<Outcome<R>[]>,
    private readonly opts: BatcherOptions<Q>,
  ) {}

  load(q: Q): Promise<R> {
    return new Promise<Outcome<R>>((resolve, reject) => {
      this.pending.push({ q, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        const windowMs = this.opts.windowMs ?? 0;
        if (windowMs > 0) void this.opts.sleep(windowMs).then(() => this.flush());
        else setImmediate(() => this.flush());
      }
    }).then((o) => {
      if (o.ok) return o.value;
      throw o.error;
    });
  }

  private flush(): void {
    const items = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (const call of this.calls(items)) {
      this.run(call.map((i) => i.q)).then(
        (outs) => {
          for (const [n, it] of call.entries()) it.resolve(outs[n]!);
        },
        (err) => {
          for (const it of call) it.reject(err);
        },
      );
    }
  }

  /** Items grouped (first seen first), each group cut into calls of at most `maxBatch`. */
  private calls(items: Array<Pending<Q, R>>): Array<Array<Pending<Q, R>>> {
    const { groupOf, maxBatch = Number.POSITIVE_INFINITY } = this.opts;
    const groups = new Map<string, Array<Pending<Q, R>>>();
    for (const it of items) {
      const g = groupOf ? groupOf(it.q) : '';
      const list = groups.get(g);
      if (list) list.push(it);
      else groups.set(g, [it]);
    }
    const out: Array<Array<Pending<Q, R>>> = [];
    for (const list of groups.values())
      for (let i = 0; i < list.length; i += maxBatch) out.push(list.slice(i, i + maxBatch));
    return out;
  }
}
