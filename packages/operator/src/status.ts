/** Status conditions (pure). Messages name sources and reasons, never values. */
import type { Condition, SecretSyncStatus } from './types.js';

export type ReadyReason =
  | 'Synced'
  | 'AccessDenied'
  | 'SourceNotFound'
  | 'SourceError'
  | 'InvalidSpec'
  | 'Conflict'
  | 'WriteFailed'
  | 'RolloutFailed';

function readyCondition(
  ready: boolean,
  reason: ReadyReason,
  message: string,
  generation: number | undefined,
  previous: Condition[] | undefined,
  now: Date,
): Condition {
  const status = ready ? 'True' : 'False';
  const prev = previous?.find((c) => c.type === 'Ready');
  return {
    type: 'Ready',
    status,
    reason,
    message: message.slice(0, 1024),
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

export function nextStatus(
  prev: SecretSyncStatus | undefined,
  update: {
    ready: boolean;
    reason: ReadyReason;
    message: string;
    generation?: number;
    now: Date;
    contentHash?: string;
    sourceVersions?: Array<{ source: string; version: string }>;
    syncedKeys?: number;
    synced?: boolean;
  },
): SecretSyncStatus {
  const cond = readyCondition(
    update.ready,
    update.reason,
    update.message,
    update.generation,
    prev?.conditions,
    update.now,
  );
  return {
    ...prev,
    ...(update.generation !== undefined ? { observedGeneration: update.generation } : {}),
    conditions: [...(prev?.conditions ?? []).filter((c) => c.type !== 'Ready'), cond],
    ...(update.synced ? { lastSyncTime: update.now.toISOString() } : {}),
    ...(update.contentHash ? { contentHash: update.contentHash } : {}),
    ...(update.sourceVersions ? { sourceVersions: update.sourceVersions } : {}),
    ...(update.syncedKeys !== undefined ? { syncedKeys: update.syncedKeys } : {}),
  };
}

/** JSON with object keys sorted, so objects equal in content compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * True when the status would change. The API server returns custom-resource fields in its own
 * key order, so the comparison is on content, not on the serialisation.
 */
export function statusChanged(a: SecretSyncStatus | undefined, b: SecretSyncStatus): boolean {
  return canonicalJson(a ?? {}) !== canonicalJson(b);
}

/** `1h30m`, `45s` → ms. */
export function parseDuration(s: string | undefined, fallbackMs: number): number {
  if (!s) return fallbackMs;
  let ms = 0;
  let consumed = 0;
  for (const m of s.matchAll(/(\d+)(h|m|s)/g)) {
    ms += Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
    consumed += m[0].length;
  }
  return consumed === s.length && ms > 0 ? ms : fallbackMs;
}

/** `baseMs` spread uniformly over ±`fraction` (periodic refreshes of many resources do not line up). */
export function jittered(baseMs: number, fraction: number, random: () => number = Math.random): number {
  return Math.round(baseMs * (1 - fraction + random() * 2 * fraction));
}
