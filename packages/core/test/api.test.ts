/**
 * The public API is what the README's API table says, exactly: every value the package exports at
 * runtime and every exported type is listed there, and nothing listed is missing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

/** The names in one column of the README's API table (`createResolver(opts)` → createResolver). */
function readmeColumn(column: 1 | 2): string[] {
  const readme = read('../README.md');
  const section = readme.slice(readme.indexOf('## API'), readme.indexOf('`Resolver` methods'));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| area'));
  return rows
    .flatMap((row) => [...(row.split(' | ')[column] ?? '').matchAll(/`([A-Za-z_][A-Za-z0-9_]*)[^`]*`/g)])
    .map((m) => m[1]!)
    .sort();
}

/** Type names exported by src/index.ts: `type X` in export lists, and every type of a `export type *` module. */
function exportedTypes(): string[] {
  const index = read('../src/index.ts');
  const names: string[] = [];
  for (const m of index.matchAll(/export (type )?\{([^}]*)\}/g)) {
    const all = m[1] !== undefined;
    for (const raw of m[2]!.split(',')) {
      const n = raw.trim();
      if (n.startsWith('type ')) names.push(n.slice(5).trim());
      else if (all && n) names.push(n);
    }
  }
  for (const m of index.matchAll(/export type \* from '\.\/([^']+)\.js'/g)) {
    const mod = read(`../src/${m[1]}.ts`);
    for (const t of mod.matchAll(/^export (?:interface|type) ([A-Za-z0-9_]+)/gm)) names.push(t[1]!);
  }
  return names.sort();
}

describe('public API', () => {
  it('the runtime exports are the README values, exactly', () => {
    expect(Object.keys(core).sort()).toEqual(readmeColumn(1));
  });

  it('the exported types are the README types, exactly', () => {
    expect(exportedTypes()).toEqual(readmeColumn(2));
  });
});
