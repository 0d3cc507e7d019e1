import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_FILES, firstDifferences, renderCrd } from '../src/crd/render.js';
import type { Condition, SecretSyncSpec, SourcePolicySpec } from '../src/types.js';

const root = resolve(import.meta.dirname, '../../..');
/** The chart's template without its Helm directives (what `helm template` leaves with defaults). */
const withoutHelm = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.includes('{{'))
    .join('\n');

describe('CRDs have one source of truth (src/crd/)', () => {
  for (const [path, crd] of Object.entries(CRD_FILES)) {
    it(`the chart's ${path.split('/').at(-1)} is the one generated from the TypeScript schema`, () => {
      const actual = readFileSync(resolve(root, path), 'utf8');
      const expected = renderCrd(crd);
      // on failure: run `npm run crds:generate`
      expect(firstDifferences(expected, actual)).toEqual([`at line ${expected.split('\n').length + 1}:`]);
      expect(actual).toBe(expected);
      // and the YAML holds exactly the schema's data (no quoting or escaping lost in rendering)
      expect(parse(withoutHelm(actual))).toEqual(
        JSON.parse(
          JSON.stringify({
            ...crd,
            metadata: { ...crd.metadata, annotations: { 'helm.sh/resource-policy': 'keep' }, labels: null },
          }),
        ),
      );
    });
  }

  it('a drifted chart is reported with the differing lines', () => {
    const expected = 'a\nb\nc\n';
    expect(firstDifferences(expected, 'a\nB\nc\n')).toEqual(['at line 2:', '- b', '+ B']);
    expect(firstDifferences(expected, 'a\nb\nx\nc\n')).toEqual(['at line 3:', '+ x']);
  });

  it('the resource types derive from the schemas', () => {
    expectTypeOf<SecretSyncSpec['creationPolicy']>().toEqualTypeOf<'Owner' | 'Merge' | 'Adopt' | undefined>();
    expectTypeOf<SecretSyncSpec['target']['name']>().toEqualTypeOf<string>();
    expectTypeOf<SecretSyncSpec['sources'][number]['refs']>().toEqualTypeOf<
      Record<string, string> | undefined
    >();
    expectTypeOf<Condition['status']>().toEqualTypeOf<'True' | 'False' | 'Unknown'>();
    expectTypeOf<SourcePolicySpec['ssm']>().toEqualTypeOf<{ paths: string[] } | undefined>();
  });
});
