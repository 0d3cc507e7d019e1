/** Encryption contexts as cache-key text. Pure. */

/**
 * An encryption context as one canonical string: keys sorted, keys and values percent-encoded,
 * `k=v` pairs joined by `,`. Equal contexts give equal strings whatever their key order; no
 * context (undefined) gives `''`, as does `{}`. Used in cache keys (the resolver's kms entries,
 * the Encryption SDK miss de-duplication); hash it before putting it where it could be seen.
 */
export function ctxKey(ctx?: Readonly<Record<string, string>>): string {
  if (!ctx) return '';
  return Object.keys(ctx)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(ctx[k]!)}`)
    .join(',');
}
