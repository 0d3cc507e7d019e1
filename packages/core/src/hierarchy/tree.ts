/** Dotted keys to a nested plain object. Pure. */
import { invalid, shortName, unsafeKeySegment } from './names.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so that keys such as `__proto__` become plain own properties.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Builds a nested plain object from dotted keys: { db: { url: '…' } }.
 *
 * Throws StrataError INVALID_INPUT for an empty key or segment (`a..b`), a repeated key, and a
 * key that is both a value and a parent (`db` and `db.url`). Values are never in messages.
 */
export function toTree(entries: Iterable<{ key: string; value: unknown }>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const leaves = new Set<object>();
  for (const { key, value } of entries) {
    const parts = key.split('.');
    if (parts.some((p) => p === '')) throw invalid(`key "${shortName(key)}" has an empty segment`);
    const unsafe = unsafeKeySegment(key);
    if (unsafe !== undefined)
      throw invalid(`key "${shortName(key)}" has the segment "${unsafe}", which is refused`);
    let node = root;
    for (const [i, part] of parts.entries()) {
      const existing = Object.hasOwn(node, part) ? node[part] : undefined;
      const has = Object.hasOwn(node, part);
      if (i === parts.length - 1) {
        if (has) {
          const what =
            isPlainObject(existing) && !leaves.has(existing) ? 'the parent of other keys' : 'set twice';
          throw invalid(`key "${key}" is ${what}`);
        }
        defineOwn(node, part, value);
        if (isPlainObject(value)) leaves.add(value);
        break;
      }
      if (!has) {
        const child: Record<string, unknown> = {};
        defineOwn(node, part, child);
        node = child;
      } else if (isPlainObject(existing) && !leaves.has(existing)) {
        node = existing;
      } else {
        throw invalid(
          `key "${parts.slice(0, i + 1).join('.')}" has a value and also the key "${key}" below it`,
        );
      }
    }
  }
  return root;
}
