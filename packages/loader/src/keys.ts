/**
 * Mapping between hierarchy keys (`db.url`, `log-level`) and schema keys (`db.url`, `logLevel`):
 * keys match when equal after lower-casing and dropping `-` and `_` in each segment.
 */
import type { ZodType } from 'zod';

function normalizeSegment(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

export function normalizeKey(key: string): string {
  return key.split('.').map(normalizeSegment).join('.');
}

interface ZodDefLike {
  type?: string;
  shape?: Record<string, ZodType>;
  innerType?: ZodType;
  in?: ZodType;
}

function defOf(schema: unknown): ZodDefLike {
  return ((schema as { _zod?: { def?: ZodDefLike } })._zod?.def ?? {}) as ZodDefLike;
}

/** Leaf key paths a zod schema names (objects are walked; optional/default/nullable unwrapped). */
export function schemaKeys(schema: ZodType, prefix = ''): string[] {
  let def = defOf(schema);
  while (
    def.type &&
    ['optional', 'default', 'nullable', 'readonly', 'catch', 'prefault', 'nonoptional', 'pipe'].includes(
      def.type,
    )
  ) {
    const inner: ZodType | undefined = def.type === 'pipe' ? def.in : def.innerType;
    if (!inner) break;
    def = defOf(inner);
  }
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([k, v]) => schemaKeys(v, prefix ? `${prefix}.${k}` : k));
  }
  return prefix ? [prefix] : [];
}

/**
 * Builds the object to validate: each source key is placed at the schema's spelling of it
 * (when the schema names it), else at its own path.
 */
export function placeKeys(
  values: Map<string, unknown>,
  schemaKeyList: string[],
): { tree: Record<string, unknown>; pathOf: Map<string, string> } {
  const bySchema = new Map(schemaKeyList.map((k) => [normalizeKey(k), k]));
  // null-prototype nodes and own-property lookups: no key can reach Object.prototype
  const tree: Record<string, unknown> = Object.create(null);
  const pathOf = new Map<string, string>();
  for (const [key, value] of values) {
    const target = bySchema.get(normalizeKey(key)) ?? key;
    pathOf.set(key, target);
    const segs = target.split('.');
    let node = tree;
    segs.forEach((seg, i) => {
      if (i === segs.length - 1) define(node, seg, value);
      else {
        const next = Object.hasOwn(node, seg) ? node[seg] : undefined;
        if (next === null || typeof next !== 'object') define(node, seg, Object.create(null));
        node = node[seg] as Record<string, unknown>;
      }
    });
  }
  return { tree, pathOf };
}

function define(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}
