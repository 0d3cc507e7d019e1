/**
 * The reference depth limit: `maxDepth` counts the hops from a value that is a reference to the
 * reference inside it; fetching the last, plain value is not a level. With the default 5, a chain
 * of 5 reference values ending in a plain value resolves, and one more hop is DEPTH_EXCEEDED.
 */
import { describe, expect, it } from 'vitest';
import { type LocalTree, Resolver, type StrataError } from '../src/index.js';

type LocalParameter = LocalTree['parameters'] extends Map<string, infer P> ? P : never;

/** `/d/p1` → `<<…/d/p2>>` → … → `/d/p{n}` → `<<…/d/p{n+1}>>`; `/d/p{n+1}` is plain. */
function chain(n: number): Resolver {
  const parameters = new Map<string, LocalParameter>();
  for (let i = 1; i <= n; i++)
    parameters.set(`/d/p${i}`, {
      value: `<<resolve:ssm:/d/p${i + 1}>>`,
      type: 'String',
      version: 1,
      labels: [],
    });
  parameters.set(`/d/p${n + 1}`, { value: 'plain', type: 'String', version: 1, labels: [] });
  return new Resolver({ local: { parameters, secrets: new Map() } });
}

describe('reference depth', () => {
  it('a chain of 5 references ending in a plain value resolves at the default limit', async () => {
    // the input's reference reads /d/p1 (a reference), … /d/p5 (a reference) → /d/p6 (plain)
    expect((await chain(5).resolveTemplate('<<resolve:ssm:/d/p1>>')).value).toBe('plain');
  });

  it('one hop more is DEPTH_EXCEEDED, naming the chain', async () => {
    const err = (await chain(6)
      .resolveTemplate('<<resolve:ssm:/d/p1>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('DEPTH_EXCEEDED');
    expect(err.message).toContain('/d/p1');
    expect(err.message).toContain('/d/p7');
  });

  it('maxDepth 0 allows references whose values are plain, and no nesting', async () => {
    const parameters = new Map<string, LocalParameter>([
      ['/z/a', { value: 'plain', type: 'String', version: 1, labels: [] }],
      ['/z/b', { value: '<<resolve:ssm:/z/a>>', type: 'String', version: 1, labels: [] }],
    ]);
    const flat = new Resolver({ local: { parameters, secrets: new Map() }, maxDepth: 0 });
    expect((await flat.resolveTemplate('<<resolve:ssm:/z/a>>')).value).toBe('plain');
    await expect(flat.resolveTemplate('<<resolve:ssm:/z/b>>')).rejects.toMatchObject({
      code: 'DEPTH_EXCEEDED',
    });
  });

  it('a hierarchy value that is a reference counts from its first reference', async () => {
    const h = await chain(5).loadHierarchy({ levels: ['/d'] });
    expect(h.entries.get('p1')!.value).toBe('plain');
  });
});
