/**
 * The canary suite, loader unit tier (local backend): typed config, sealed files, env references
 * and buildspecs on their happy paths and error paths. No 8-character piece of a canary may appear
 * in an error, in `sources`, in a masked rendering of the config, or in seal's output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createKmsCrypto, LocalBackend, localKmsCiphertext, parseLocalTree, Resolver } from '@strata/core';
import { canary, leaks } from '@strata/test-env/canary';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnvFile } from '../src/buildspec.js';
import {
  collectEnv,
  loadConfig,
  loadConfigDetailed,
  parseBuildspecEnv,
  resolveEnv,
  watchConfig,
} from '../src/index.js';
import { readSealedFile, sealText, unsealText } from '../src/seal.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shown(err: unknown): string {
  const e = err as Error & { issues?: unknown; source?: string };
  return [
    e?.message,
    JSON.stringify(e),
    JSON.stringify(e?.issues ?? []),
    e?.source ?? '',
    String(e?.stack),
  ].join('\n');
}

async function settle(
  p: Promise<unknown> | (() => unknown),
): Promise<{ ok: boolean; value?: unknown; error?: unknown }> {
  try {
    return { ok: true, value: await (typeof p === 'function' ? p() : p) };
  } catch (error) {
    return { ok: false, error };
  }
}

const JUNK = [
  '<<resolve:',
  '<<resolve:ssm:',
  '>>',
  ':',
  ' ',
  '\n',
  '"',
  "'",
  '{',
  '[',
  '&',
  '*',
  '!secret',
  '#',
];

describe('canary suite (loader, unit tier)', () => {
  const c = canary();
  // process warnings go to stderr: libraries (the YAML parser) must not be let to quote documents there
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  afterAll(() => {
    process.off('warning', onWarning);
  });
  const tree = parseLocalTree({
    parameters: {
      '/acme/shop/dev/db/password': { value: c, type: 'SecureString' },
      '/acme/shop/dev/db/url': 'postgres://u:<<resolve:ssm:/acme/shop/dev/db/password>>@h/db',
      '/acme/shop/dev/port': { value: `${c}-not-a-number`, type: 'SecureString' },
      '/acme/shop/dev/bad': { value: `<<resolve:ssm:/x:${c}`, type: 'SecureString' },
    },
    secrets: { 'app/api': { token: c }, 'app/raw': `<<resolve:ssm:${c}:0>>` },
  });
  const resolver = () => new Resolver({ backend: new LocalBackend(tree) });
  const hierarchy = { levels: ['/acme', '/acme/shop', '/acme/shop/dev'] };

  it('typed config: happy path masks, error paths never quote', async () => {
    const ok = await loadConfigDetailed({
      schema: z.object({ db: z.object({ password: z.string(), url: z.string() }), token: z.string() }),
      hierarchy,
      references: { token: '<<resolve:secretsmanager:app/api:SecretString:token>>' },
      resolver: resolver(),
    });
    expect(ok.config.db.password).toBe(c);
    const rendered = [
      JSON.stringify(ok.config),
      String(ok.config),
      inspect(ok.config, { depth: 10 }),
      `${ok.config}`,
      JSON.stringify([...ok.sources.values()]),
    ].join('\n');
    expect(leaks(rendered, [c])).toEqual([]);

    const failures = await Promise.all([
      // schema failure on a secret key, with zod's message and with a custom one quoting the value
      settle(
        loadConfig({ schema: z.object({ port: z.coerce.number().int() }), hierarchy, resolver: resolver() }),
      ),
      settle(
        loadConfig({
          schema: z.object({
            db: z.object({
              password: z.string().refine((v) => v.length > 100, { error: (i) => `bad: ${String(i.input)}` }),
            }),
          }),
          hierarchy,
          resolver: resolver(),
        }),
      ),
      settle(
        loadConfig({
          schema: z.object({ db: z.object({ password: z.enum(['a', 'b']) }) }),
          hierarchy,
          resolver: resolver(),
        }),
      ),
      // a malformed reference inside a secret (in the hierarchy, and through a reference)
      settle(loadConfig({ schema: z.looseObject({}), hierarchy, resolver: resolver() })),
      settle(
        loadConfig({
          schema: z.looseObject({}),
          references: { x: '<<resolve:secretsmanager:app/raw>>' },
          resolver: resolver(),
        }),
      ),
      settle(
        loadConfig({
          schema: z.looseObject({}),
          env: { x: 'X' },
          environment: { X: `<<resolve:ssm:/a ${c}` },
          resolver: resolver(),
        }),
      ),
      settle(
        loadConfig({
          schema: z.looseObject({}),
          references: { x: `<<resolve:kms:${localKmsCiphertext(`<<resolve:${c}`)}>>` },
          resolver: resolver(),
        }),
      ),
    ]);
    for (const f of failures) {
      expect(f.ok).toBe(false);
      expect(leaks(shown(f.error), [c]), shown(f.error)).toEqual([]);
    }
  });

  it('watchConfig: a refresh that fails tells onError nothing of the values', async () => {
    const errors: string[] = [];
    const handle = await watchConfig({
      schema: z.object({ db: z.object({ password: z.string() }) }),
      hierarchy,
      resolver: resolver(),
      onError: (e) => errors.push(shown(e)),
    });
    expect(leaks(JSON.stringify([...handle.sources.values()]) + JSON.stringify(handle.current), [c])).toEqual(
      [],
    );
    handle.close();
  });

  it('env references and buildspecs: malformed values and YAML never quoted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...JUNK, c), { maxLength: 10 }), async (pieces) => {
        const text = [...pieces, c].join('');
        // a reference's own validated name may be echoed in errors about text the user typed (the
        // documented exception): keep the canary out of that one position
        fc.pre(!text.includes(`<<resolve:ssm:${c}`));
        const outcomes = await Promise.all([
          settle(resolveEnv({ A: `<<resolve:${text}`, B: `x${text}<<resolve:ssm:/y` }, resolver())),
          settle(() =>
            parseBuildspecEnv(`env:\n  variables:\n    A: ${text}\n  parameter-store:\n    B: ${text}\n`),
          ),
          settle(() => parseBuildspecEnv(`env:\n  secrets-manager:\n    B: "${text}"\n`)),
          settle(() => parseEnvFile(`A=${text}\n${text}\n`)),
        ]);
        for (const o of outcomes) if (!o.ok) expect(leaks(shown(o.error), [c]), shown(o.error)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('sealed files: seal output, unseal errors, invalid YAML around a secret', async () => {
    const crypto = createKmsCrypto({ backend: new LocalBackend(tree) });
    const sealed = await sealText(
      `db:\n  password: ${c}\nalias: &a ${c}\nuse:\n  token: *a\ncreds: !secret {u: ${c}}\nmixed:\n  secret: "<<resolve:ssm:/x>>${c}"\n`,
      crypto,
      { keyId: 'k' },
    );
    expect(leaks(sealed.text + JSON.stringify(sealed.paths), [c])).toEqual([]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...JUNK, c), { maxLength: 10 }), async (pieces) => {
        const text = `password: ${[...pieces, c].join('')}\n`;
        const file = join(dir, 'x.yaml');
        writeFileSync(file, text);
        const outcomes = await Promise.all([
          settle(sealText(text, crypto, { keyId: 'k' })),
          settle(unsealText(text, crypto)),
          settle(() => readSealedFile(file)),
          settle(loadConfig({ schema: z.looseObject({}), sealedFile: file, resolver: resolver() })),
          settle(() => collectEnv({ base: {}, buildspec: file })),
        ]);
        for (const o of outcomes) {
          if (!o.ok) expect(leaks(shown(o.error), [c]), shown(o.error)).toEqual([]);
          else if (o.value && typeof o.value === 'object' && 'text' in o.value && 'paths' in o.value) {
            // seal's output: the secret key's value is sealed, or the file is refused
            expect(leaks(JSON.stringify((o.value as { paths: unknown }).paths), [c])).toEqual([]);
          }
        }
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it('nothing reached process warnings (stderr)', async () => {
    await new Promise((r) => setImmediate(r));
    expect(leaks(warnings.join('\n'), [c])).toEqual([]);
  });
});
