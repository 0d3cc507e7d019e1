/**
 * Typed cache keys. One key names one cached source read; everything that changes the value is a
 * field (region, name or id, version, label, stage, version id; every read is decrypted). The
 * cache needs a string per key: `cacheId` derives one and nothing ever takes it apart again —
 * invalidation and change checks read the typed key stored with each entry.
 */
import { createHash } from 'node:crypto';
import { regionOf } from '../aws/arn.js';
import type { ParameterQuery, SecretQuery } from '../backend.js';
import type { SourceService } from './types.js';

/** One parameter by name or ARN; `version` or `label` when pinned. Always read decrypted. */
export interface ParameterKey {
  kind: 'param';
  region: string;
  name: string;
  version?: number;
  label?: string;
}

/** Every parameter under `path` (decrypted), recursively or its direct children only. */
export interface PathKey {
  kind: 'path';
  region: string;
  path: string;
  recursive: boolean;
}

/** One secret by name or ARN; `versionStage` or `versionId` when pinned. */
export interface SecretKey {
  kind: 'secret';
  region: string;
  secretId: string;
  versionStage?: string;
  versionId?: string;
}

/** One kms ciphertext with its encryption context, both as hashes (the key never holds them). */
export interface KmsKey {
  kind: 'kms';
  region: string;
  ciphertextHash: string;
  contextHash: string;
}

export type CacheKey = ParameterKey | PathKey | SecretKey | KmsKey;

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 32);
}

/** A canonical text for an encryption context: keys sorted, keys and values percent-encoded. */
function contextKey(ctx?: Record<string, string>): string {
  if (!ctx) return '';
  return Object.keys(ctx)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(ctx[k]!)}`)
    .join(',');
}

export function parameterKey(q: ParameterQuery, defaultRegion: string): ParameterKey {
  return {
    kind: 'param',
    region: regionOf(q.name, defaultRegion),
    name: q.name,
    ...(q.version !== undefined ? { version: q.version } : {}),
    ...(q.version === undefined && q.label !== undefined ? { label: q.label } : {}),
  };
}

export function pathKey(path: string, recursive: boolean, defaultRegion: string): PathKey {
  return { kind: 'path', region: regionOf(path, defaultRegion), path, recursive };
}

export function secretKey(q: SecretQuery, defaultRegion: string): SecretKey {
  return {
    kind: 'secret',
    region: regionOf(q.secretId, defaultRegion),
    secretId: q.secretId,
    // an empty stage or version id means "not given", as in the reference grammar
    ...(q.versionStage ? { versionStage: q.versionStage } : {}),
    ...(q.versionId ? { versionId: q.versionId } : {}),
  };
}

export function kmsKey(region: string, ciphertextBase64: string, context?: Record<string, string>): KmsKey {
  return {
    kind: 'kms',
    region,
    ciphertextHash: sha(ciphertextBase64),
    contextHash: sha(contextKey(context)),
  };
}

/** The cache's string for a key: unique per key, never parsed. */
export function cacheId(key: CacheKey): string {
  switch (key.kind) {
    case 'param':
      return JSON.stringify([key.kind, key.region, key.name, key.version ?? null, key.label ?? null]);
    case 'path':
      return JSON.stringify([key.kind, key.region, key.path, key.recursive]);
    case 'secret':
      return JSON.stringify([
        key.kind,
        key.region,
        key.secretId,
        key.versionStage ?? null,
        key.versionId ?? null,
      ]);
    case 'kms':
      return JSON.stringify([key.kind, key.region, key.ciphertextHash, key.contextHash]);
  }
}

/** The service whose TTL applies to a key. */
export function serviceOf(key: CacheKey): SourceService {
  return key.kind === 'secret' ? 'secretsmanager' : key.kind === 'kms' ? 'kms' : 'ssm';
}

/** True for a read pinned to a version, label, stage or version id: its value never changes. */
export function isPinned(key: CacheKey): boolean {
  switch (key.kind) {
    case 'param':
      return key.version !== undefined || key.label !== undefined;
    case 'secret':
      return key.versionStage !== undefined || key.versionId !== undefined;
    case 'path':
      return false;
    case 'kms':
      return true;
  }
}
