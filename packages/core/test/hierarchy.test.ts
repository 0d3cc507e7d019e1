import { describe, expect, it } from 'vitest';
import type { ParameterRecord } from '../src/backend.js';
import { StrataError } from '../src/errors.js';
import { buildLevels, keyFor, type Level, namesForKeys } from '../src/hierarchy/levels.js';
import { mergeLevels } from '../src/hierarchy/merge.js';
import { referenceBranchProblem } from '../src/hierarchy/reference-rule.js';
import { toTree } from '../src/hierarchy/tree.js';

function rec(
  name: string,
  value: string,
  version = 1,
  type: ParameterRecord['type'] = 'String',
): ParameterRecord {
  return { name, value, version, type };
}

function catchError(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StrataError);
    return e as StrataError;
  }
  throw new Error('expected an error');
}

const acme = (): Level[] => buildLevels({ levels: ['/acme', '/acme/shop', '/acme/shop/dev'] });

describe('buildLevels: templates', () => {
  it('expands variable segments, one level per segment', () => {
    const levels = buildLevels({
      template: '/{dept}/{app}/{env}',
      vars: { dept: 'my-dept', app: 'my-app', env: 'dev' },
    });
    expect(levels).toEqual([
      { index: 0, path: '/my-dept', recursive: false, exclude: [] },
      { index: 1, path: '/my-dept/my-app', recursive: false, exclude: [] },
      { index: 2, path: '/my-dept/my-app/dev', recursive: true, exclude: [] },
    ]);
  });

  it('keeps literal segments as levels', () => {
    const levels = buildLevels({ template: '/acme/{app}/{env}', vars: { app: 'shop', env: 'dev' } });
    expect(levels.map((l) => l.path)).toEqual(['/acme', '/acme/shop', '/acme/shop/dev']);
  });

  it('allows a variable inside a segment and ignores extra vars', () => {
    const levels = buildLevels({ template: 'acme//{app}-svc/', vars: { app: 'shop', unused: 'x' } });
    expect(levels.map((l) => l.path)).toEqual(['/acme', '/acme/shop-svc']);
  });

  it('names an unfilled variable and the template', () => {
    const err = catchError(() =>
      buildLevels({ template: '/{dept}/{app}/{env}', vars: { dept: 'd', app: 'a' } }),
    );
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain('"env"');
    expect(err.message).toContain('/{dept}/{app}/{env}');
    expect(err.message).not.toContain('"dept"');
  });

  it('reports every bad variable at once', () => {
    const err = catchError(() => buildLevels({ template: '/{a}/{b}/{c}', vars: { a: '', b: 'x/y' } }));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.issues.map((i) => i.message)).toEqual([
      'hierarchy template "/{a}/{b}/{c}": variable "a" is empty',
      'hierarchy template "/{a}/{b}/{c}": variable "b" contains "/"',
      'hierarchy template "/{a}/{b}/{c}": variable "c" is not set',
    ]);
  });

  it.each([
    ['empty', ''],
    ['slash', 'a/b'],
    ['space', 'my app'],
    ['colon', 'a:b'],
    ['dot-dot', '..'],
    ['unicode', 'café'],
  ])('rejects a value with %s', (_label, value) => {
    const err = catchError(() => buildLevels({ template: '/acme/{env}', vars: { env: value } }));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain('variable "env"');
    expect(err.message).toContain('/acme/{env}');
  });

  it('does not take variables from the prototype', () => {
    const err = catchError(() => buildLevels({ template: '/{toString}', vars: {} }));
    expect(err.message).toContain('variable "toString" is not set');
  });

  it.each([
    ['/', 'has no segments'],
    ['/acme/{env', 'unbalanced'],
    ['/acme/{}', 'not a valid variable name'],
    ['/acme corp/{env}', 'segment "acme corp" contains characters'],
  ])('rejects template %s', (template, message) => {
    const err = catchError(() => buildLevels({ template, vars: { env: 'dev' } }));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain(message);
  });
});

describe('buildLevels: explicit levels', () => {
  it('normalizes paths and defaults recursion to the last level only', () => {
    const levels = buildLevels({ levels: ['acme/', '//acme//shop', { path: '/acme/shop/dev/' }] });
    expect(levels).toEqual([
      { index: 0, path: '/acme', recursive: false, exclude: [] },
      { index: 1, path: '/acme/shop', recursive: false, exclude: [] },
      { index: 2, path: '/acme/shop/dev', recursive: true, exclude: [] },
    ]);
  });

  it('keeps explicit recursion and normalized excludes', () => {
    const levels = buildLevels({
      levels: [
        { path: '/acme', recursive: true, exclude: ['/other-app/', 'other-app', 'legacy'] },
        { path: '/acme/shop', recursive: false },
      ],
    });
    expect(levels).toEqual([
      { index: 0, path: '/acme', recursive: true, exclude: ['other-app', 'legacy'] },
      { index: 1, path: '/acme/shop', recursive: false, exclude: [] },
    ]);
  });

  it('allows levels that do not nest', () => {
    expect(buildLevels({ levels: ['/shared', '/acme/shop/dev'] }).map((l) => l.path)).toEqual([
      '/shared',
      '/acme/shop/dev',
    ]);
  });

  it.each([
    [[], 'at least one level'],
    [['/'], 'has no segments'],
    [['/acme', '/acme/'], 'are both "/acme"'],
    [['/acme/shop', '/acme'], 'is an ancestor of level 0'],
    [['/acme/my app'], 'contains characters'],
    [[{ path: '/acme', exclude: ['a/b'] }], 'must be one path segment'],
    [[{ path: '/acme', exclude: [''] }], 'must be one path segment'],
  ] as Array<[Array<string | { path: string; exclude?: string[] }>, string]>)(
    'rejects %j',
    (levels, message) => {
      const err = catchError(() => buildLevels({ levels }));
      expect(err.code).toBe('INVALID_INPUT');
      expect(err.message).toContain(message);
    },
  );
});

describe('keyFor', () => {
  it('maps sub-paths to dotted keys at the recursive last level', () => {
    const levels = acme();
    expect(keyFor(levels, 2, '/acme/shop/dev/db/url')).toBe('db.url');
    expect(keyFor(levels, 2, '/acme/shop/dev/port')).toBe('port');
  });

  it('reads only direct children at non-recursive ancestors', () => {
    const levels = acme();
    expect(keyFor(levels, 1, '/acme/shop/timeout')).toBe('timeout');
    expect(keyFor(levels, 1, '/acme/shop/db/url')).toBeUndefined();
    expect(keyFor(levels, 0, '/acme/region')).toBe('region');
  });

  it('never reads outside the level, the next level branch, or malformed names', () => {
    const levels = acme();
    expect(keyFor(levels, 2, '/acme/shop/prod/x')).toBeUndefined();
    expect(keyFor(levels, 2, '/acme/shop/devx/y')).toBeUndefined();
    expect(keyFor(levels, 2, '/acme/shop/dev')).toBeUndefined();
    expect(keyFor(levels, 1, '/acme/shop/dev')).toBeUndefined();
    expect(keyFor(levels, 0, '/acme/shop')).toBeUndefined();
    expect(keyFor(levels, 2, '/acme/shop/dev//x')).toBeUndefined();
  });

  it('excludes the branch towards a deeper level even when a segment is skipped', () => {
    const levels = buildLevels({ levels: [{ path: '/acme', recursive: true }, '/acme/shop/dev'] });
    expect(keyFor(levels, 0, '/acme/shop/prod/x')).toBeUndefined();
    expect(keyFor(levels, 0, '/acme/shop/common')).toBeUndefined();
    expect(keyFor(levels, 0, '/acme/x/y')).toBe('x.y');
  });

  it('throws for an unknown level index', () => {
    expect(catchError(() => keyFor(acme(), 3, '/acme/x')).code).toBe('INVALID_INPUT');
  });
});

describe('mergeLevels', () => {
  it('lets dev override shop override acme, recording overrides most specific first', () => {
    const levels = acme();
    const { entries, ignored } = mergeLevels(levels, [
      [rec('/acme/timeout', '10', 3), rec('/acme/region', 'eu-west-1')],
      [rec('/acme/shop/timeout', '20', 2)],
      [rec('/acme/shop/dev/timeout', '30', 7)],
    ]);
    expect(ignored).toEqual([]);
    expect([...entries.keys()]).toEqual(['region', 'timeout']);
    const timeout = entries.get('timeout')!;
    expect(timeout.value).toBe('30');
    expect(timeout.secret).toBe(false);
    expect(timeout.origin).toEqual({
      key: 'timeout',
      level: 2,
      levelPath: '/acme/shop/dev',
      parameter: '/acme/shop/dev/timeout',
      version: 7,
      type: 'String',
      overrides: [
        { level: 1, parameter: '/acme/shop/timeout', version: 2 },
        { level: 0, parameter: '/acme/timeout', version: 3 },
      ],
    });
    expect(entries.get('region')!.origin).toMatchObject({
      level: 0,
      parameter: '/acme/region',
      overrides: [],
    });
  });

  it('records overrides when an intermediate level is skipped', () => {
    const { entries } = mergeLevels(acme(), [[rec('/acme/a', '1')], [], [rec('/acme/shop/dev/a', '3')]]);
    expect(entries.get('a')!.origin.overrides).toEqual([{ level: 0, parameter: '/acme/a', version: 1 }]);
  });

  it('turns nested paths of the last level into dotted keys, sorted', () => {
    const { entries } = mergeLevels(acme(), [
      [],
      [],
      [
        rec('/acme/shop/dev/db/url', 'postgres://db'),
        rec('/acme/shop/dev/db/pool/max', '5'),
        rec('/acme/shop/dev/app', 'x'),
      ],
    ]);
    expect([...entries.keys()]).toEqual(['app', 'db.pool.max', 'db.url']);
    expect(entries.get('db.pool.max')!.origin.parameter).toBe('/acme/shop/dev/db/pool/max');
  });

  it('never surfaces a sibling environment or app from a recursive listing of an ancestor', () => {
    const levels = acme();
    const fromAcme = [
      rec('/acme/region', 'eu-west-1'),
      rec('/acme/shop/prod/x', 'PROD'),
      rec('/acme/shop/prod/db/url', 'PROD-DB'),
      rec('/acme/other-app/y', 'OTHER'),
      rec('/acme/shop/dev/z', 'dev-z'),
    ];
    const fromShop = [
      rec('/acme/shop/timeout', '20'),
      rec('/acme/shop/prod/x', 'PROD'),
      rec('/acme/shop/staging/db/url', 'STG'),
    ];
    const fromDev = [rec('/acme/shop/dev/z', 'dev-z'), rec('/acme/shop/dev/db/url', 'dev-db')];
    const { entries, ignored } = mergeLevels(levels, [fromAcme, fromShop, fromDev]);
    expect([...entries.keys()]).toEqual(['db.url', 'region', 'timeout', 'z']);
    const values = [...entries.values()].map((e) => e.value);
    expect(values).not.toContain('PROD');
    expect(values).not.toContain('PROD-DB');
    expect(values).not.toContain('OTHER');
    expect(values).not.toContain('STG');
    expect(entries.get('z')!.origin.level).toBe(2);
    expect(entries.get('db.url')!.value).toBe('dev-db');
    // Names only; /acme/shop/dev/z was used by level 2, so it is not reported as ignored.
    expect(ignored).toEqual([
      '/acme/other-app/y',
      '/acme/shop/prod/db/url',
      '/acme/shop/prod/x',
      '/acme/shop/staging/db/url',
    ]);
  });

  it('lets a recursive ancestor read nested keys except excluded sub-paths', () => {
    const levels = buildLevels({
      levels: [{ path: '/acme', recursive: true, exclude: ['other-app'] }, '/acme/shop', '/acme/shop/dev'],
    });
    const { entries, ignored } = mergeLevels(levels, [
      [
        rec('/acme/logging/level', 'info'),
        rec('/acme/other-app/y', 'OTHER'),
        rec('/acme/other-app', 'OTHER-ROOT'),
        rec('/acme/shop/prod/x', 'PROD'),
        rec('/acme/shop/db/url', 'SHOP-NESTED'),
      ],
      [],
      [],
    ]);
    expect([...entries.keys()]).toEqual(['logging.level']);
    expect(entries.get('logging.level')!.origin).toMatchObject({ level: 0, levelPath: '/acme' });
    expect(ignored).toEqual([
      '/acme/other-app',
      '/acme/other-app/y',
      '/acme/shop/db/url',
      '/acme/shop/prod/x',
    ]);
  });

  it('lets a recursive middle level exclude sibling environments', () => {
    const levels = buildLevels({
      levels: [
        '/acme',
        { path: '/acme/shop', recursive: true, exclude: ['prod', 'staging'] },
        '/acme/shop/dev',
      ],
    });
    const { entries } = mergeLevels(levels, [
      [],
      [
        rec('/acme/shop/db/pool/max', '5'),
        rec('/acme/shop/prod/x', 'PROD'),
        rec('/acme/shop/staging/x', 'STG'),
        rec('/acme/shop/dev/x', 'dev-through-shop'),
      ],
      [rec('/acme/shop/dev/x', 'dev')],
    ]);
    expect([...entries.keys()]).toEqual(['db.pool.max', 'x']);
    expect(entries.get('x')!).toMatchObject({ value: 'dev', origin: { level: 2, overrides: [] } });
  });

  it('shows that a recursive ancestor without exclude reads sibling apps (documented)', () => {
    const levels = buildLevels({ levels: [{ path: '/acme', recursive: true }, '/acme/shop'] });
    const { entries } = mergeLevels(levels, [
      [rec('/acme/other-app/y', 'OTHER'), rec('/acme/shop/x', 'never via /acme')],
      [],
    ]);
    expect([...entries.keys()]).toEqual(['other-app.y']);
  });

  it('flags SecureString as secret and keeps StringList values as they are', () => {
    const { entries } = mergeLevels(acme(), [
      [],
      [rec('/acme/shop/hosts', 'a,b,c', 4, 'StringList')],
      [rec('/acme/shop/dev/password', 'hunter2', 2, 'SecureString')],
    ]);
    expect(entries.get('hosts')).toMatchObject({
      value: 'a,b,c',
      secret: false,
      origin: { type: 'StringList' },
    });
    expect(entries.get('password')).toMatchObject({
      value: 'hunter2',
      secret: true,
      origin: { type: 'SecureString' },
    });
  });

  it('takes secret from the winning level', () => {
    const { entries } = mergeLevels(acme(), [
      [rec('/acme/token', 's', 1, 'SecureString')],
      [],
      [rec('/acme/shop/dev/token', 'p')],
    ]);
    expect(entries.get('token')!.secret).toBe(false);
  });

  it('counts a name returned twice for one level once, at its highest version', () => {
    const { entries } = mergeLevels(acme(), [
      [],
      [],
      [rec('/acme/shop/dev/a', 'old', 1), rec('/acme/shop/dev/a', 'new', 2)],
    ]);
    expect(entries.get('a')).toMatchObject({ value: 'new', origin: { version: 2 } });
  });

  it('accepts fewer record lists than levels and rejects more', () => {
    expect(mergeLevels(acme(), [[rec('/acme/a', '1')]]).entries.get('a')!.value).toBe('1');
    expect(catchError(() => mergeLevels(acme(), [[], [], [], []])).code).toBe('INVALID_INPUT');
  });

  describe('prefix conflicts', () => {
    it('reports every same-level conflict at once, without values', () => {
      const err = catchError(() =>
        mergeLevels(acme(), [
          [],
          [],
          [
            rec('/acme/shop/dev/db', 'SECRET-1'),
            rec('/acme/shop/dev/db/url', 'SECRET-2'),
            rec('/acme/shop/dev/cache/host', 'SECRET-3'),
            rec('/acme/shop/dev/cache', 'SECRET-4'),
          ],
        ]),
      );
      expect(err.code).toBe('LOAD_FAILED');
      expect(err.issues).toHaveLength(2);
      expect(err.issues.every((i) => i.code === 'INVALID_INPUT')).toBe(true);
      expect(err.issues.map((i) => i.key)).toEqual(['cache', 'db']);
      expect(err.message).toContain('"db.url" (/acme/shop/dev/db/url)');
      expect(err.message).toContain('"cache.host" (/acme/shop/dev/cache/host)');
      expect(err.message).not.toMatch(/SECRET/);
    });

    it('reports two parameters that map to the same key', () => {
      const err = catchError(() =>
        mergeLevels(acme(), [[], [], [rec('/acme/shop/dev/db.url', 'a'), rec('/acme/shop/dev/db/url', 'b')]]),
      );
      expect(err.issues).toHaveLength(1);
      expect(err.issues[0]).toMatchObject({ code: 'INVALID_INPUT', key: 'db.url' });
    });

    it('lets a more specific leaf replace a whole subtree of a lower level', () => {
      const { entries } = mergeLevels(acme(), [
        [rec('/acme/db', 'acme-db')],
        [rec('/acme/shop/db', 'shop-db')],
        [rec('/acme/shop/dev/db', 'dev-db')],
      ]);
      expect(entries.get('db')!.value).toBe('dev-db');

      const levels = buildLevels({ levels: [{ path: '/acme', recursive: true }, '/acme/shop'] });
      const merged = mergeLevels(levels, [
        [rec('/acme/db/url', 'u', 1), rec('/acme/db/port', 'p', 2), rec('/acme/dbx', 'x')],
        [rec('/acme/shop/db', 'leaf', 5)],
      ]);
      expect([...merged.entries.keys()]).toEqual(['db', 'dbx']);
      expect(merged.entries.get('db')!.origin.overrides).toEqual([
        { level: 0, parameter: '/acme/db/port', version: 2 },
        { level: 0, parameter: '/acme/db/url', version: 1 },
      ]);
    });

    it('lets a more specific subtree replace a lower-level leaf', () => {
      const { entries } = mergeLevels(acme(), [
        [rec('/acme/db', 'acme-db', 4)],
        [],
        [rec('/acme/shop/dev/db/url', 'dev-url'), rec('/acme/shop/dev/db/port', '5432')],
      ]);
      expect([...entries.keys()]).toEqual(['db.port', 'db.url']);
      for (const key of ['db.port', 'db.url']) {
        expect(entries.get(key)!.origin.overrides).toEqual([{ level: 0, parameter: '/acme/db', version: 4 }]);
      }
      expect(toTree(entries.values())).toMatchObject({
        db: { url: expect.anything(), port: expect.anything() },
      });
    });

    it('layers levels in order: a later subtree does not bring back what a middle leaf hid', () => {
      const levels = buildLevels({
        levels: [
          { path: '/acme', recursive: true },
          { path: '/acme/shop', recursive: true, exclude: ['prod'] },
          '/acme/shop/dev',
        ],
      });
      const { entries } = mergeLevels(levels, [
        [rec('/acme/a/c', 'c')],
        [rec('/acme/shop/a', 'leaf')],
        [rec('/acme/shop/dev/a/b', 'b')],
      ]);
      expect([...entries.keys()]).toEqual(['a.b']);
      expect(entries.get('a.b')!.origin.overrides).toEqual([
        { level: 1, parameter: '/acme/shop/a', version: 1 },
        { level: 0, parameter: '/acme/a/c', version: 1 },
      ]);
    });
  });
});

describe('toTree', () => {
  it('builds a nested object', () => {
    const flat = new Map<string, unknown>([
      ['app', 'x'],
      ['db.url', 'postgres://db'],
      ['db.pool.max', 5],
      ['hosts', ['a', 'b']],
    ]);
    const tree = toTree([...flat].map(([key, value]) => ({ key, value })));
    expect(tree).toEqual({ app: 'x', db: { url: 'postgres://db', pool: { max: 5 } }, hosts: ['a', 'b'] });
  });

  it('builds the tree of merged entries', () => {
    const { entries } = mergeLevels(acme(), [
      [rec('/acme/region', 'r')],
      [],
      [rec('/acme/shop/dev/db/url', 'u')],
    ]);
    const tree = toTree(entries.values());
    expect(tree).toEqual({ region: 'r', db: { url: 'u' } });
  });

  it('rejects conflicting or malformed keys in toTree', () => {
    expect(
      catchError(() =>
        toTree([
          { key: 'db', value: 'x' },
          { key: 'db.url', value: 'y' },
        ]),
      ).message,
    ).toContain('has a value');
    expect(
      catchError(() =>
        toTree([
          { key: 'db.url', value: 'y' },
          { key: 'db', value: 'x' },
        ]),
      ).message,
    ).toContain('parent of other keys');
    expect(
      catchError(() =>
        toTree([
          { key: 'a', value: 1 },
          { key: 'a', value: 2 },
        ]),
      ).message,
    ).toContain('set twice');
    expect(catchError(() => toTree([{ key: 'a..b', value: 1 }])).code).toBe('INVALID_INPUT');
  });

  it('refuses keys that name object internals instead of polluting prototypes', () => {
    for (const key of ['__proto__.polluted', 'constructor.prototype.polluted', 'a.prototype']) {
      expect(() => toTree([{ key, value: 'yes' }])).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('is refused') }),
      );
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('namesForKeys', () => {
  it('asks every level for top-level keys and only recursive levels for nested keys', () => {
    expect(namesForKeys(acme(), ['timeout', 'db.url', 'timeout'])).toEqual([
      { level: 0, key: 'timeout', name: '/acme/timeout' },
      { level: 1, key: 'timeout', name: '/acme/shop/timeout' },
      { level: 2, key: 'timeout', name: '/acme/shop/dev/timeout' },
      { level: 2, key: 'db.url', name: '/acme/shop/dev/db/url' },
    ]);
  });

  it('honors recursion, exclude and the next-level branch', () => {
    const levels = buildLevels({
      levels: [
        { path: '/acme', recursive: true, exclude: ['db'] },
        { path: '/acme/shop', recursive: true },
        '/acme/shop/dev',
      ],
    });
    expect(namesForKeys(levels, ['db.url', 'log.level', 'shop.x', 'dev.y'])).toEqual([
      { level: 1, key: 'db.url', name: '/acme/shop/db/url' },
      { level: 2, key: 'db.url', name: '/acme/shop/dev/db/url' },
      { level: 0, key: 'log.level', name: '/acme/log/level' },
      { level: 1, key: 'log.level', name: '/acme/shop/log/level' },
      { level: 2, key: 'log.level', name: '/acme/shop/dev/log/level' },
      { level: 1, key: 'shop.x', name: '/acme/shop/shop/x' },
      { level: 2, key: 'shop.x', name: '/acme/shop/dev/shop/x' },
      { level: 0, key: 'dev.y', name: '/acme/dev/y' },
      { level: 2, key: 'dev.y', name: '/acme/shop/dev/dev/y' },
    ]);
  });

  it('rejects keys that cannot be parameter names', () => {
    for (const key of ['', 'a..b', 'a b', 'a/b']) {
      const err = catchError(() => namesForKeys(acme(), [key]));
      expect(err.code).toBe('INVALID_INPUT');
      expect(err.message).toContain(`"${key}"`);
    }
  });

  it('produces names that mergeLevels accepts for the same level', () => {
    const levels = acme();
    const wanted = namesForKeys(levels, ['timeout', 'db.url']);
    const recordsByLevel: ParameterRecord[][] = levels.map(() => []);
    for (const w of wanted) recordsByLevel[w.level]!.push(rec(w.name, `${w.level}`));
    const { entries, ignored } = mergeLevels(levels, recordsByLevel);
    expect(ignored).toEqual([]);
    expect(entries.get('timeout')!.value).toBe('2');
    expect(entries.get('db.url')!.value).toBe('2');
  });
});

describe('security: unsafe key segments and the reference branch rule', () => {
  const rec = (name: string, value = 'v', type: ParameterRecord['type'] = 'String'): ParameterRecord => ({
    name,
    value,
    type,
    version: 1,
  });

  it('refuses parameters whose path names object internals, naming them (never dropping them)', () => {
    const levels = buildLevels({
      template: '/{dept}/{app}/{env}',
      vars: { dept: 'acme', app: 'shop', env: 'dev' },
    });
    let err: StrataError | undefined;
    try {
      mergeLevels(levels, [
        [],
        [],
        [
          rec('/acme/shop/dev/__proto__/polluted', 'TOPSECRET', 'SecureString'),
          rec('/acme/shop/dev/constructor'),
          rec('/acme/shop/dev/ok'),
        ],
      ]);
    } catch (e) {
      err = e as StrataError;
    }
    expect(err?.code).toBe('LOAD_FAILED');
    expect(err?.issues.map((i) => i.source)).toEqual([
      '/acme/shop/dev/__proto__/polluted',
      '/acme/shop/dev/constructor',
    ]);
    expect(err?.message).not.toContain('TOPSECRET');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses references into sibling branches, allows the hierarchy, outside names and the allow-list', () => {
    const levels = buildLevels({
      template: '/{dept}/{app}/{env}',
      vars: { dept: 'acme', app: 'shop', env: 'dev' },
    });
    const ssm = (name: string) => ({ service: 'ssm' as const, name, secure: false });
    const sm = (secretId: string) => ({ service: 'secretsmanager' as const, secretId });
    const denied = [
      ssm('/acme/shop/prod/db/password'),
      ssm('arn:aws:ssm:eu-west-1:123456789012:parameter/acme/shop/prod/db/password'),
      ssm('/acme/other-app/x'),
      ssm('/acme/shop/dev'),
      ssm('/aws/reference/secretsmanager/acme/shop/prod/db'),
      sm('acme/shop/prod/db'),
      sm('/acme/shop/prod/db'),
      sm('arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/shop/prod/db-AbCdEf'),
    ];
    for (const ref of denied)
      expect(referenceBranchProblem(levels, ref), JSON.stringify(ref)).toMatch(/sibling branch/);
    const allowed = [
      ssm('/acme/shop/dev/db/password'),
      ssm('/acme/shop/dev/a/b/c'),
      ssm('/acme/timeout'),
      ssm('/acme/shop/feature'),
      ssm('/shared/db-host'),
      ssm('plain-name'),
      sm('acme/shop/dev/db'),
      sm('prod-db'),
      { service: 'kms' as const, ciphertext: 'AAAA' },
    ];
    for (const ref of allowed)
      expect(referenceBranchProblem(levels, ref), JSON.stringify(ref)).toBeUndefined();
    const allow = { ssm: ['/acme/shop/prod/shared/*'], secretsManager: ['acme/shop/prod/public-*'] };
    expect(referenceBranchProblem(levels, ssm('/acme/shop/prod/shared/x'), allow)).toBeUndefined();
    expect(referenceBranchProblem(levels, ssm('/acme/shop/prod/shared-not'), allow)).toMatch(/sibling/);
    expect(referenceBranchProblem(levels, sm('acme/shop/prod/public-key'), allow)).toBeUndefined();
    expect(referenceBranchProblem(levels, sm('acme/shop/prod/db'), allow)).toMatch(/sibling/);
  });

  it('refuses level paths deeper than AWS allows and truncates echoed paths', () => {
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    expect(() => buildLevels({ levels: [deep] })).toThrow(/more than 15 levels/);
    let err: StrataError | undefined;
    try {
      buildLevels({ levels: [`/${'x'.repeat(2100)}`] });
    } catch (e) {
      err = e as StrataError;
    }
    expect(err?.message).toMatch(/longer than 1011/);
    expect(err!.message.length).toBeLessThan(300);
  });
});
