/** Sealed config files over the local backend (no network). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createKmsCrypto, createResolver, LocalBackend } from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseContext } from '../src/cli/commands/kms.js';
import { loadConfigDetailed } from '../src/config.js';
import { readSealedFile, sealText, unsealText } from '../src/seal.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-seal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `# shop config
app:
  name: shop
  port: 8080
db:
  host: db.internal
  password: hunter2 # the db password
stripe:
  apiKey: sk_live_123
note: !secret tagged-value
secrets:
  slack: xoxb-1
tokens: [tok-one-1, tok-two-2]
already: "<<resolve:ssm:/shop/other>>"
empty: null
`;

describe('seal / unseal', () => {
  const backend = new LocalBackend({
    parameters: new Map([['/shop/other', { value: 'other-value', type: 'String', version: 1, labels: [] }]]),
    secrets: new Map(),
  });
  const crypto = createKmsCrypto({ backend });

  it('seals values by key pattern and !secret, keeps comments and everything else, and unseals back', async () => {
    const sealed = await sealText(CONFIG, crypto, { keyId: 'k', context: { app: 'shop', team: 'a,b' } });
    expect(sealed.paths.sort()).toEqual(
      ['db.password', 'note', 'secrets.slack', 'stripe.apiKey', 'tokens.0', 'tokens.1'].sort(),
    );
    for (const secret of ['hunter2', 'sk_live_123', 'tagged-value', 'xoxb-1', 'tok-one-1', 'tok-two-2']) {
      expect(sealed.text).not.toContain(secret);
    }
    expect(sealed.text).toContain('# the db password');
    expect(sealed.text).toContain('name: shop');
    expect(sealed.text).toContain('note: !secret');
    expect(sealed.text).toContain('<<resolve:ssm:/shop/other>>');
    expect(sealed.text).toContain(':app=shop,team=a%2Cb>>');
    // sealing again seals nothing new
    expect((await sealText(sealed.text, crypto, { keyId: 'k' })).paths).toEqual([]);
    const back = await unsealText(sealed.text, crypto);
    expect(back.paths).toHaveLength(6);
    expect(back.text).toContain('password: "hunter2" # the db password');
    expect(back.text).toContain('note: !secret "tagged-value"');
    const file = join(dir, 'sealed.yaml');
    writeFileSync(file, sealed.text);
    const entries = readSealedFile(file);
    expect(entries.get('app.port')).toBe(8080);
    expect(entries.get('tokens')).toHaveLength(2);
  });

  it('pattern false seals only !secret; a custom pattern is used; JSON stays JSON', async () => {
    const only = await sealText(CONFIG, crypto, { keyId: 'k', pattern: false });
    expect(only.paths).toEqual(['note']);
    const json = JSON.stringify({ db: { pass: 'p1', host: 'h' } });
    const sealed = await sealText(json, crypto, { keyId: 'k', pattern: /^pass$/i, mode: 'raw' });
    expect(sealed.paths).toEqual(['db.pass']);
    const doc = JSON.parse(sealed.text);
    expect(doc.db.host).toBe('h');
    expect(doc.db.pass).toMatch(/^<<resolve:kms:/);
    expect(JSON.parse((await unsealText(sealed.text, crypto)).text)).toEqual({
      db: { pass: 'p1', host: 'h' },
    });
  });

  it('unseal names every value it could not decrypt, never a value', async () => {
    const sealed = await sealText('password: pw-1\n', crypto, { keyId: 'k', context: { app: 'shop' } });
    const tampered = sealed.text.replace('app=shop', 'app=evil');
    const err = (await unsealText(tampered, crypto, 'f.yaml').catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('password');
    expect(err.message).not.toContain('pw-1');
  });

  it('the loader reads a sealed file as a source: typed, masked, overridden by references', async () => {
    const sealed = await sealText(CONFIG, crypto, { keyId: 'k' });
    const file = join(dir, 'config.sealed.yaml');
    writeFileSync(file, sealed.text);
    const resolver = createResolver({ backend });
    const before = backend.stats.snapshot().calls['local:Decrypt'] ?? 0;
    const loaded = await loadConfigDetailed({
      schema: z.object({
        app: z.object({ name: z.string(), port: z.number() }),
        db: z.object({ host: z.string(), password: z.string() }),
        stripe: z.object({ apiKey: z.string() }),
        tokens: z.array(z.string()),
        already: z.string(),
      }),
      sealedFile: file,
      references: { 'app.name': 'override' },
      resolver,
    });
    const c = loaded.config;
    expect(c.db.password).toBe('hunter2');
    expect(c.tokens).toEqual(['tok-one-1', 'tok-two-2']);
    expect(c.already).toBe('other-value');
    expect(c.app).toEqual({ name: 'override', port: 8080 });
    expect(loaded.sources.get('db.password')).toMatchObject({
      from: 'sealed-file',
      secret: true,
      source: file,
    });
    expect(inspect(c, { depth: 5 })).not.toContain('hunter2');
    expect(JSON.stringify(c)).not.toContain('sk_live_123');
    // one data key for the whole file: one (local) Decrypt for every sealed value
    expect((backend.stats.snapshot().calls['local:Decrypt'] ?? 0) - before).toBe(1);
  });

  it('a missing sealed file is one clear issue', async () => {
    const err = (await loadConfigDetailed({
      schema: z.object({}),
      sealedFile: join(dir, 'nope.yaml'),
      resolver: createResolver({ backend }),
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('nope.yaml');
  });

  it('--context parsing', () => {
    expect(parseContext(['a=1', 'b=x=y,c='])).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(parseContext(undefined)).toBeUndefined();
    expect(() => parseContext(['nokey'])).toThrow(/KEY=VALUE/);
  });
});
