/** Writes through the local backend: the file or directory changes atomically, and reads back. */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBackend, type StrataError } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-local-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function read(path: string, name: string): Promise<{ value: string; type: string } | undefined> {
  const [o] = await new LocalBackend(path).ssm.getParameters([{ name }]);
  return o?.ok ? { value: o.value.value, type: o.value.type } : undefined;
}

describe('local writes', () => {
  it('a YAML file: existing entries change in place, new ones go into the mapping that leads to them', async () => {
    const file = join(dir, 'tree.yaml');
    writeFileSync(
      file,
      '# team config\nparameters:\n  /app/log-level: info # why: noisy\n  /app/dev:\n    db:\n      url: postgres://old\n  /other: x\n',
    );
    chmodSync(file, 0o640);
    const b = new LocalBackend(file);
    expect(
      (await b.ssm.putParameter!({ name: '/app/dev/db/url', value: 'postgres://new', type: 'String' }))
        .version,
    ).toBe(2);
    await b.ssm.putParameter!({ name: '/app/dev/db/password', value: 'pw-1', type: 'SecureString' });
    await b.ssm.putParameter!({ name: '/app/log-level', value: 'debug', type: 'String' });
    await b.ssm.putParameter!({ name: '/brand/new', value: 'n', type: 'String' });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# team config');
    expect(text).toContain('/app/log-level: debug # why: noisy');
    expect(text).toMatch(
      / {4}db:\n {6}url: postgres:\/\/new\n {6}password:\n {8}value: pw-1\n {8}type: SecureString/,
    );
    expect(text).toContain('/brand/new: n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(await read(file, '/app/dev/db/password')).toEqual({ value: 'pw-1', type: 'SecureString' });
    expect(await read(file, '/app/dev/db/url')).toEqual({ value: 'postgres://new', type: 'String' });
    // the writer's own view is current too
    const [mine] = await b.ssm.getParameters([{ name: '/app/log-level' }]);
    expect(mine).toMatchObject({ ok: true, value: { value: 'debug', version: 2 } });
  });

  it('an entry defined flat after a mapping that leads to it is changed where it is', async () => {
    const file = join(dir, 'flat.yaml');
    writeFileSync(file, 'parameters:\n  /a:\n    x: 1\n  /a/b/c: old\n');
    await new LocalBackend(file).ssm.putParameter!({ name: '/a/b/c', value: 'new', type: 'String' });
    expect(readFileSync(file, 'utf8')).toBe('parameters:\n  /a:\n    x: 1\n  /a/b/c: new\n');
  });

  it('a JSON file stays JSON', async () => {
    const file = join(dir, 'tree.json');
    writeFileSync(
      file,
      JSON.stringify({
        parameters: { '/j/a': 'one', '/j/s': { value: 's', type: 'SecureString', version: 4 } },
      }),
    );
    const b = new LocalBackend(file);
    await b.ssm.putParameter!({ name: '/j/a', value: 'two', type: 'String' });
    expect((await b.ssm.putParameter!({ name: '/j/s', value: 's2', type: 'SecureString' })).version).toBe(5);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      parameters: { '/j/a': 'two', '/j/s': { value: 's2', type: 'SecureString', version: 5 } },
    });
  });

  it('a directory: one file per parameter, .secure for SecureStrings, mode 0600', async () => {
    const root = join(dir, 'tree.d');
    mkdirSync(join(root, 'parameters', 'd'), { recursive: true });
    writeFileSync(join(root, 'parameters', 'd', 'k'), 'old\n');
    const b = new LocalBackend(root);
    await b.ssm.putParameter!({ name: '/d/k', value: 'secret-now', type: 'SecureString' });
    await b.ssm.putParameter!({ name: '/d/new/one', value: '1', type: 'String' });
    expect(readdirSync(join(root, 'parameters', 'd')).sort()).toEqual(['k.secure', 'new']);
    expect(statSync(join(root, 'parameters', 'd', 'k.secure')).mode & 0o777).toBe(0o600);
    expect(await read(root, '/d/k')).toEqual({ value: 'secret-now', type: 'SecureString' });
    expect(await read(root, '/d/new/one')).toEqual({ value: '1', type: 'String' });
  });

  it('refuses names that are not parameter paths (no writing outside the tree), and overwrite: false', async () => {
    const root = join(dir, 'guard.d');
    mkdirSync(root);
    const b = new LocalBackend(root);
    for (const name of ['/../escape', '/a/../../x', 'relative', '/a b', '/a//b', '/']) {
      const e = (await b.ssm.putParameter!({ name, value: 'x', type: 'String' }).catch(
        (x: unknown) => x,
      )) as StrataError;
      expect(e.code, name).toBe('VALIDATION');
    }
    expect(readdirSync(root)).toEqual([]);
    await b.ssm.putParameter!({ name: '/g/one', value: '1', type: 'String' });
    await expect(
      b.ssm.putParameter!({ name: '/g/one', value: '2', type: 'String', overwrite: false }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('an in-memory tree changes in memory only', async () => {
    const b = new LocalBackend({ parameters: new Map(), secrets: new Map() });
    await b.ssm.putParameter!({ name: '/m/x', value: 'v', type: 'String' });
    const [o] = await b.ssm.getParameters([{ name: '/m/x' }]);
    expect(o).toMatchObject({ ok: true, value: { value: 'v', version: 1 } });
  });
});
