/**
 * The desired Secret and the write decision (pure): desired Secret = f(spec, resolved values).
 * The content hash covers the data, type, labels and annotations Strata sets, so a change of any
 * of them, or a hand edit of the Secret (drift), makes the hashes differ and triggers a write.
 */
import { createHash } from 'node:crypto';
import {
  API_VERSION,
  HASH_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  type SecretSync,
  SYNC_LABEL,
} from './types.js';

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
    resourceVersion?: string;
  };
  type?: string;
  data?: Record<string, string>;
}

/** sha256 over the sorted keys and values (and the type); hex. */
export function contentHash(data: Record<string, string>, type = 'Opaque'): string {
  const h = createHash('sha256');
  h.update(`type=${type}\n`);
  for (const k of Object.keys(data).sort()) {
    h.update(k);
    h.update('\0');
    h.update(data[k]!);
    h.update('\n');
  }
  return h.digest('hex');
}

/** Hash of what an existing Secret actually holds (its data is base64). */
export function existingHash(
  secret: { data?: Record<string, string>; type?: string } | undefined,
): string | undefined {
  if (!secret) return undefined;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
  return contentHash(data, secret.type ?? 'Opaque');
}

function ownsSecret(sync: SecretSync): boolean {
  return (
    (sync.spec.deletionPolicy ?? 'Delete') === 'Delete' && (sync.spec.creationPolicy ?? 'Owner') !== 'Merge'
  );
}

export function desiredSecret(
  sync: SecretSync,
  data: Record<string, string>,
): { secret: SecretObject; hash: string } {
  const type = sync.spec.target.type ?? 'Opaque';
  const hash = contentHash(data, type);
  const encoded: Record<string, string> = {};
  for (const k of Object.keys(data).sort()) encoded[k] = Buffer.from(data[k]!, 'utf8').toString('base64');
  const merge = (sync.spec.creationPolicy ?? 'Owner') === 'Merge';
  const secret: SecretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: sync.spec.target.name,
      namespace: sync.metadata.namespace!,
      labels: {
        ...sync.spec.target.labels,
        ...(merge ? {} : { [MANAGED_BY_LABEL]: MANAGED_BY }),
        [SYNC_LABEL]: sync.metadata.name,
      },
      annotations: { ...sync.spec.target.annotations, [HASH_ANNOTATION]: hash },
      ...(ownsSecret(sync)
        ? {
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: 'SecretSync',
                name: sync.metadata.name,
                uid: sync.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    ...(merge ? {} : { type }),
    data: encoded,
  };
  return { secret, hash };
}

export type WriteDecision =
  | { action: 'create' | 'update' | 'repair'; reason: string }
  | { action: 'none' }
  | { action: 'conflict'; reason: string };

/**
 * Whether to write, given what exists. Never takes over a Secret that Strata does not manage
 * unless the spec says Adopt (take it over) or Merge (write only our keys into it).
 */
export function decideWrite(
  sync: SecretSync,
  desired: { secret: SecretObject; hash: string },
  existing:
    | {
        metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
        data?: Record<string, string>;
        type?: string;
      }
    | undefined,
): WriteDecision {
  if (!existing) return { action: 'create', reason: 'the target Secret does not exist' };
  const labels = existing.metadata?.labels ?? {};
  const policy = sync.spec.creationPolicy ?? 'Owner';
  const syncedBy = labels[SYNC_LABEL];
  const managed = labels[MANAGED_BY_LABEL] === MANAGED_BY || syncedBy !== undefined;
  if (syncedBy !== undefined && syncedBy !== sync.metadata.name) {
    return {
      action: 'conflict',
      reason: `Secret ${sync.spec.target.name} is managed by SecretSync ${syncedBy}`,
    };
  }
  if (!managed && policy === 'Owner') {
    return {
      action: 'conflict',
      reason: `Secret ${sync.spec.target.name} exists and is not managed by Strata; set creationPolicy: Adopt to take it over or Merge to add keys to it`,
    };
  }
  if (policy === 'Merge') {
    const have = existing.data ?? {};
    const want = desired.secret.data ?? {};
    const same = Object.entries(want).every(([k, v]) => have[k] === v);
    return same ? { action: 'none' } : { action: 'update', reason: 'merged keys changed' };
  }
  const recorded = existing.metadata?.annotations?.[HASH_ANNOTATION];
  const actual = existingHash(existing);
  const metaDrift =
    Object.entries(desired.secret.metadata.labels ?? {}).some(([k, v]) => labels[k] !== v) ||
    Object.entries(desired.secret.metadata.annotations ?? {}).some(
      ([k, v]) => existing.metadata?.annotations?.[k] !== v,
    );
  if (actual === desired.hash && !metaDrift) return { action: 'none' };
  if (recorded === desired.hash)
    return { action: 'repair', reason: 'the Secret was edited outside Strata (drift)' };
  return { action: 'update', reason: 'source values changed' };
}
