/**
 * watchConfig over a resolver shared with other readers (the README recommends one resolver per
 * server): a refresh re-reads everything this config reads — hierarchy keys, references in its
 * values, `references`, `env` — and leaves what others cached alone.
 */
import { LocalBackend, parseLocalTree, Resolver } from '@strata/core';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { watchConfig } from '../src/watch.js';

const param = (value: string, version: number) => ({ value, type: 'String' as const, version, labels: [] });

function setup() {
  const tree = parseLocalTree({
    parameters: {
      '/acme/log-level': 'warn',
      '/acme/shop/dev/log-level': 'debug',
      '/acme/shop/dev/db/url': 'postgres://<<resolve:ssm:/shared/db-host>>/shop',
      '/shared/db-host': 'db-1',
      '/other/app/flag': 'on',
    },
    secrets: { 'prod/api': JSON.stringify({ key: 'key-1' }) },
  });
  const backend = new LocalBackend(tree);
  const resolver = new Resolver({ backend });
  const reads = () => backend.stats.totalCalls();
  return { tree, backend, resolver, reads };
}

const schema = z.object({
  logLevel: z.string(),
  db: z.object({ url: z.string() }),
  apiKey: z.string(),
});
const hierarchy = { levels: ['/acme', '/acme/shop/dev'] };
const references = { apiKey: '<<resolve:secretsmanager:prod/api:SecretString:key>>' };

describe('watchConfig on a shared resolver', () => {
  for (const fetchSchemaKeys of [true, false]) {
    it(`a refresh sees every change to what the config reads (${fetchSchemaKeys ? 'schema keys' : 'by path'})`, async () => {
      const { tree, resolver } = setup();
      const h = await watchConfig({ schema, hierarchy, references, resolver, fetchSchemaKeys });
      expect(h.current).toEqual({ logLevel: 'debug', db: { url: 'postgres://db-1/shop' }, apiKey: 'key-1' });

      tree.parameters.delete('/acme/shop/dev/log-level'); // the less specific level's value shows
      tree.parameters.set('/shared/db-host', param('db-2', 2)); // a reference inside a value
      tree.secrets.set('prod/api', JSON.stringify({ key: 'key-2' })); // a reference in `references`
      const change = await h.refresh();
      expect(change?.changed).toEqual(['apiKey', 'db.url', 'logLevel']);
      expect(h.current).toEqual({ logLevel: 'warn', db: { url: 'postgres://db-2/shop' }, apiKey: 'key-2' });

      tree.parameters.set('/acme/shop/dev/log-level', param('info', 3)); // a key added again
      expect((await h.refresh())?.changed).toEqual(['logLevel']);
      expect(h.current.logLevel).toBe('info');
      h.close();
    });
  }

  it("leaves other readers' cached values in place", async () => {
    const { tree, resolver, reads } = setup();
    // another part of the app reads through the same resolver
    expect((await resolver.resolveTemplate('<<resolve:ssm:/other/app/flag>>')).value).toBe('on');
    const h = await watchConfig({ schema, hierarchy, references, resolver });
    tree.parameters.set('/other/app/flag', param('off', 2));
    tree.parameters.set('/acme/shop/dev/log-level', param('info', 2));
    expect((await h.refresh())?.changed).toEqual(['logLevel']);
    const before = reads();
    // still the cached value (its TTL has not passed), with no call: the refresh did not clear it
    expect((await resolver.resolveTemplate('<<resolve:ssm:/other/app/flag>>')).value).toBe('on');
    expect(reads()).toBe(before);
    h.close();
  });

  it('env values that are references are re-read too', async () => {
    const { tree, resolver } = setup();
    const h = await watchConfig({
      schema: z.object({ flag: z.string() }),
      env: { flag: 'FLAG' },
      environment: { FLAG: '<<resolve:ssm:/other/app/flag>>' },
      resolver,
    });
    tree.parameters.set('/other/app/flag', param('off', 2));
    expect((await h.refresh())?.changed).toEqual(['flag']);
    expect(h.current.flag).toBe('off');
    h.close();
  });

  it('after a failed refresh, the next one re-reads what the failed one read', async () => {
    const { tree, resolver } = setup();
    const h = await watchConfig({
      schema: schema.extend({ logLevel: z.enum(['debug', 'info', 'warn']) }),
      hierarchy,
      references,
      resolver,
    });
    // the value now comes from a new reference whose value the schema refuses: the config stays
    tree.parameters.set('/acme/shop/dev/log-level', param('<<resolve:ssm:/shared/level>>', 2));
    tree.parameters.set('/shared/level', param('LOUD', 1));
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    expect(h.current.logLevel).toBe('debug');
    tree.parameters.set('/shared/level', param('info', 2)); // fixed
    expect((await h.refresh())?.changed).toEqual(['logLevel']);
    expect(h.current.logLevel).toBe('info');
    h.close();
  });
  // a failed refresh reads more than the source it names: what it left in the cache must be re-read
  it('schema keys: a parameter created with a broken reference, then fixed, is re-read', async () => {
    const tree = parseLocalTree({ parameters: { '/acme/log-level': 'warn' } });
    const resolver = new Resolver({ backend: new LocalBackend(tree) });
    const onError = vi.fn();
    const h = await watchConfig({
      schema: z.object({ logLevel: z.string() }),
      hierarchy,
      resolver,
      onError,
    });
    expect(h.current.logLevel).toBe('warn');
    tree.parameters.set('/acme/shop/dev/log-level', param('<<resolve:ssm:/shared/missing>>', 1));
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    tree.parameters.set('/acme/shop/dev/log-level', param('info', 2)); // fixed
    expect((await h.refresh())?.changed).toEqual(['logLevel']);
    expect(h.current.logLevel).toBe('info');
    expect(onError).toHaveBeenCalledTimes(1);
    h.close();
  });

  for (const fetchSchemaKeys of [true, false]) {
    it(`a reference read by a failed refresh is re-read by the next (${fetchSchemaKeys ? 'schema keys' : 'by path'})`, async () => {
      const tree = parseLocalTree({
        parameters: { '/acme/shop/dev/banner': 'hello', '/shared/x': 'x1' },
      });
      const resolver = new Resolver({ backend: new LocalBackend(tree) });
      const h = await watchConfig({
        schema: z.object({ banner: z.string() }),
        hierarchy,
        resolver,
        fetchSchemaKeys,
      });
      // one reference resolves (and is cached), the other does not: the refresh fails
      tree.parameters.set(
        '/acme/shop/dev/banner',
        param('<<resolve:ssm:/shared/x>>-<<resolve:ssm:/shared/missing>>', 2),
      );
      await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
      tree.parameters.set('/shared/x', param('x2', 2));
      tree.parameters.set('/acme/shop/dev/banner', param('<<resolve:ssm:/shared/x>>', 3)); // fixed
      expect((await h.refresh())?.changed).toEqual(['banner']);
      expect(h.current.banner).toBe('x2'); // not the x1 the failed refresh cached
      h.close();
    });
  }
  for (const via of ['references', 'env'] as const) {
    it(`a reference nested in a value \`${via}\` names, read by a failed refresh, is re-read by the next`, async () => {
      const tree = parseLocalTree({ parameters: { '/shared/wrap': 'plain', '/shared/x': 'x1' } });
      const resolver = new Resolver({ backend: new LocalBackend(tree) });
      const h = await watchConfig({
        schema: z.object({ banner: z.string() }),
        ...(via === 'references'
          ? { references: { banner: '<<resolve:ssm:/shared/wrap>>' } }
          : { env: { banner: 'BANNER' }, environment: { BANNER: '<<resolve:ssm:/shared/wrap>>' } }),
        resolver,
      });
      tree.parameters.set(
        '/shared/wrap',
        param('<<resolve:ssm:/shared/x>>-<<resolve:ssm:/shared/missing>>', 2),
      );
      await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
      tree.parameters.set('/shared/x', param('x2', 2));
      tree.parameters.set('/shared/wrap', param('<<resolve:ssm:/shared/x>>', 3)); // fixed
      expect((await h.refresh())?.changed).toEqual(['banner']);
      expect(h.current.banner).toBe('x2');
      h.close();
    });
  }
});
