/**
 * Kubernetes Events about SecretSyncs, bounded the way client-go's EventCorrelator bounds them:
 * - the same Event again (same object, type, reason and message) is not written anew: the Event
 *   already written gets `count` + `lastTimestamp` (a PATCH);
 * - per object and reason, at most `burst` writes per `windowMs`; past that an Event is not
 *   written but counted (`strata_kube_events_total{result="suppressed"}`), and the next write carries the count;
 * - what it remembers is bounded (an LRU of `maxTracked` object+reason pairs).
 * So a source that flaps writes a handful of Events per window, whatever the rate of flapping.
 * Messages name resources, sources and reasons, never values (callers build them so).
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { type KubeClient, KubeError, paths } from './kube.js';
import { API_VERSION, FIELD_MANAGER, type ObjectMeta } from './types.js';

export type EventType = 'Normal' | 'Warning';

export interface RecorderOptions {
  kube: KubeClient;
  logger: Logger;
  /** Told of each Event: written (`created`, `updated`), not written (`suppressed`), or `failed`. */
  onResult?: (result: 'created' | 'updated' | 'suppressed' | 'failed') => void;
  clock?: Clock;
  /** Writes (create or count update) per object and reason per window. Default 5. */
  burst?: number;
  /** Default 10 minutes (client-go aggregates over 10 minutes too). */
  windowMs?: number;
  /** Object+reason pairs remembered. Default 4096 (as client-go's caches). */
  maxTracked?: number;
}

interface Involved {
  kind: 'SecretSync';
  metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'uid'>;
}

interface Tracked {
  /** The Event object last written for this pair, and its message. */
  eventName?: string;
  message?: string;
  count: number;
  firstTimestamp: string;
  /** Times (clock ms) of the writes in the current window. */
  writes: number[];
}

export class EventRecorder {
  private readonly clock: Clock;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly tracked: LRUCache<string, Tracked>;
  private seq = 0;

  constructor(private readonly o: RecorderOptions) {
    this.clock = o.clock ?? systemClock;
    this.burst = o.burst ?? 5;
    this.windowMs = o.windowMs ?? 600_000;
    this.tracked = new LRUCache({ max: o.maxTracked ?? 4096 });
  }

  /** Records an Event (never throws: a failed write is logged). */
  async record(obj: Involved, type: EventType, reason: string, message: string): Promise<void> {
    const msg = message.slice(0, 1024);
    const ns = obj.metadata.namespace ?? 'default';
    const key = `${ns}/${obj.metadata.name}/${obj.metadata.uid ?? ''}/${type}/${reason}`;
    const nowMs = this.clock.now();
    const now = new Date(nowMs).toISOString();
    let t = this.tracked.get(key);
    if (!t) {
      t = { count: 0, firstTimestamp: now, writes: [] };
      this.tracked.set(key, t);
    }
    if (t.message !== msg) {
      // a different Event (same reason, new message): counted apart from the one before
      t.message = msg;
      t.eventName = undefined;
      t.count = 0;
      t.firstTimestamp = now;
    }
    t.count++;
    t.writes = t.writes.filter((w) => nowMs - w < this.windowMs);
    if (t.writes.length >= this.burst) {
      this.o.onResult?.('suppressed');
      return;
    }
    t.writes.push(nowMs);
    try {
      if (t.eventName) {
        try {
          await this.o.kube.mergePatch(`${paths.events(ns)}/${t.eventName}`, {
            count: t.count,
            lastTimestamp: now,
          });
          this.o.onResult?.('updated');
          return;
        } catch (err) {
          if (!(err instanceof KubeError && err.status === 404)) throw err;
          // the Event expired (the API server keeps Events an hour): write it anew
        }
      }
      t.eventName = `${obj.metadata.name}.${nowMs.toString(16)}${(this.seq++ % 4096).toString(16)}`;
      await this.o.kube.request('POST', paths.events(ns), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: t.eventName, namespace: ns },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: ns,
          ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        },
        reason,
        message: msg,
        type,
        firstTimestamp: t.firstTimestamp,
        lastTimestamp: now,
        count: t.count,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
      });
      this.o.onResult?.('created');
    } catch (err) {
      t.eventName = undefined;
      this.o.onResult?.('failed');
      this.o.logger.warn(
        { error: err instanceof Error ? err.message.slice(0, 300) : 'unknown error' },
        'could not record event',
      );
    }
  }
}
