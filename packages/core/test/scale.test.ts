/**
 * Pure logic at scale: the hierarchy merge is linear in the number of keys, and a 100,000-key
 * local tree loads. No timings are asserted; the bound is the test's own timeout, generous
 * (the quadratic versions took minutes). The growth curve is measured in bench/local.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeLevels } from '../src/hierarchy/merge.js';
import {
  buildLevels,
  type Level,
  LocalBackend,
  type ParameterRecord,
  Resolver,
  StrataError,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rec = (name: string, version = 1): ParameterRecord => ({
  name,
  value: `v-${name}`,
  type: 'String',
  version,
});

describe('mergeLevels at scale', () => {
  it('merges 50,000 keys present at two levels (every one an override)', { timeout: 30_000 }, () => {
    const levels = buildLevels({ levels: ['/a', '/a/b'] });
    const n = 50_000;
    const l0 = Array.from({ length: n }, (_, i) => rec(`/a/k${i}`));
    const l1 = Array.from({ length: n }, (_, i) => rec(`/a/b/k${i}`, 2));
    const l1nested = Array.from({ length: 1000 }, (_, i) => rec(`/a/b/k${i}/deep`, 3));
    const merged = mergeLevels(levels, [l0, [...l1.slice(1000), ...l1nested]]);
    expect(merged.entries.size).toBe(n);
    expect(merged.entries.has('k7')).toBe(false); // hidden by k7.deep of the deeper level
    expect(merged.entries.get('k7.deep')!.origin.overrides).toEqual([
      { level: 0, parameter: '/a/k7', version: 1 },
    ]);
    expect(merged.entries.get('k49999')!.origin).toMatchObject({
      parameter: '/a/b/k49999',
      overrides: [{ level: 0, parameter: '/a/k49999', version: 1 }],
    });
  });
});

/** The merge as it was (quadratic, obviously right): the oracle for the indexed one. */
function naiveLayering(levels: Level[], recordsByLevel: ParameterRecord[][]) {
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  const placed = new Map<string, { level: number; name: string; overrides: string[] }>();
  for (const level of levels) {
    const cands = (recordsByLevel[level.index] ?? []).map((r) => ({
      key: r.name
        .slice(level.path.length + 1)
        .split('/')
        .join('.'),
      name: r.name,
    }));
    const hidden = new Map(
      cands.map((c) => [c.key, [...placed.entries()].filter(([k]) => related(k, c.key))]),
    );
    for (const c of cands) {
      const below = hidden.get(c.key)!;
      for (const [k] of below) placed.delete(k);
      const ov = new Set<string>();
      for (const [, p] of below) for (const o of [`${p.level}:${p.name}`, ...p.overrides]) ov.add(o);
      placed.set(c.key, { level: level.index, name: c.name, overrides: [...ov].sort() });
    }
  }
  return placed;
}

describe('mergeLevels agrees with the straightforward merge', () => {
  it('on random trees of related keys across three levels', () => {
    const levels = buildLevels({ levels: ['/p', '/p/q', '/p/q/r'] });
    const seg = fc.constantFrom('a', 'b', 'c');
    const key = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    // one level's keys: no key may be another's ancestor (the merge refuses that within a level)
    const levelKeys = fc
      .uniqueArray(key, { maxLength: 6 })
      .map((ks) => ks.filter((k) => !ks.some((o) => o !== k && k.startsWith(`${o}/`))));
    fc.assert(
      fc.property(fc.tuple(levelKeys, levelKeys, levelKeys), (perLevel) => {
        const records = perLevel.map((ks, i) => ks.map((k) => rec(`${levels[i]!.path}/${k}`)));
        // ancestors read only direct children by default: keep the test about layering
        const recursive = levels.map((l) => ({ ...l, recursive: true }));
        const got = mergeLevels(recursive, records);
        const want = naiveLayering(recursive, records);
        expect([...got.entries.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, w] of want) {
          const o = got.entries.get(k)!.origin;
          expect(o.parameter).toBe(w.name);
          expect(o.overrides.map((x) => `${x.level}:${x.parameter}`).sort()).toEqual(w.overrides);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a 100,000-key local tree', () => {
  it('loads as a YAML file, and a hierarchy over it merges', { timeout: 60_000 }, async () => {
    const n = 100_000;
    const lines = ['parameters:'];
    for (let i = 0; i < n; i++) lines.push(`  /big/app/k${i}: value-${i}`);
    lines.push('  /big/app/dev/k1: dev-1');
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = new Resolver({ backend: new LocalBackend(file) });
    const h = await r.loadHierarchy({ levels: ['/big/app', '/big/app/dev'] });
    expect(h.entries.size).toBe(n);
    expect(h.entries.get('k1')!.value).toBe('dev-1');
    expect(h.entries.get('k99999')!.value).toBe('value-99999');
  });

  it('still refuses a key given twice (nothing is silently dropped)', () => {
    const file = join(dir, 'dup.yaml');
    writeFileSync(file, 'parameters:\n  /x/a: one\n  /x/b: two\n  /x/a: three\n');
    const err = (() => {
      try {
        new LocalBackend(file);
      } catch (e) {
        return e as StrataError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(StrataError);
    expect(err!.code).toBe('INVALID_INPUT');
    expect(err!.message).toContain('/x/a');
    expect(err!.message).not.toContain('three');
  });
});
