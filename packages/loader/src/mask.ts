/**
 * Secret masking. Config objects carry non-enumerable `toJSON`, `toString` and
 * `util.inspect.custom` that print secret leaves as `'******'`; property access still returns
 * the raw value. Pure: works on plain objects and a set of secret key paths.
 */
import { inspect } from 'node:util';

export const MASK = '******';

/** A copy of `value` with every leaf whose dotted path is in `secretPaths` replaced by the mask. */
export function maskedCopy(value: unknown, secretPaths: ReadonlySet<string>, prefix = ''): unknown {
  if (secretPaths.has(prefix) && prefix !== '') return MASK;
  if (Array.isArray(value))
    return value.map((v, i) => maskedCopy(v, secretPaths, prefix ? `${prefix}.${i}` : String(i)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a key such as `__proto__` stays an own property, never a prototype
      Object.defineProperty(out, k, {
        value: maskedCopy(v, secretPaths, prefix ? `${prefix}.${k}` : k),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/**
 * Freezes `value` deeply and gives every object node masked `toJSON`, `toString` and
 * `util.inspect` (non-enumerable, so keys and spreads are unchanged).
 */
export function freezeMasked<T>(value: T, secretPaths: ReadonlySet<string>, prefix = ''): T {
  if (value === null || typeof value !== 'object') return value;
  for (const [k, v] of Object.entries(value)) {
    freezeMasked(v, secretPaths, prefix ? `${prefix}.${k}` : k);
  }
  const masked = () => maskedCopy(value, secretPaths, prefix);
  Object.defineProperties(value, {
    toJSON: { value: masked, enumerable: false },
    toString: { value: () => JSON.stringify(masked()), enumerable: false },
    [inspect.custom]: {
      value: (_depth: number, options: object) => inspect(masked(), { ...options, customInspect: false }),
      enumerable: false,
    },
  });
  return Object.freeze(value);
}
