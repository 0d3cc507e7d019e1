/**
 * Importing @strata/loader and loading a config of SSM parameters does not load the Secrets Manager
 * client, `yaml`, the KMS client or the Encryption SDK: each loads on first use (a secretsmanager
 * reference, a buildspec or sealed file, a kms reference). Each case runs in a fresh Node process
 * (a module, once loaded, stays loaded), importing the packages by name from source (the
 * `strata-source` condition, through tsx); these are CommonJS modules, in `require.cache` once loaded.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  step: string;
  secretsManager: boolean;
  yaml: boolean;
  kms: boolean;
  esdk: boolean;
}

/** Runs `body` (module code; `loader`, `core` and `z` are imported) in a fresh process; returns its marks. */
async function inFreshProcess(body: string): Promise<Step[]> {
  const script = `
    import { createRequire } from 'node:module';
    const out = [];
    const mark = (step) => {
      const keys = Object.keys(createRequire(import.meta.url).cache);
      const has = (s) => keys.some((k) => k.includes(s));
      out.push({
        step,
        secretsManager: has('/@aws-sdk/client-secrets-manager/'),
        yaml: has('/node_modules/yaml/'),
        kms: has('/@aws-sdk/client-kms/'),
        esdk: has('/@aws-crypto/'),
      });
    };
    const loader = await import('@strata/loader');
    mark('import');
    const core = await import('@strata/core');
    const { z } = await import('zod');
    ${body}
    console.log(JSON.stringify(out));
  `;
  const { stdout } = await run(
    process.execPath,
    ['--conditions=strata-source', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: packageDir, env: { ...process.env, AWS_REGION: 'us-east-1' }, timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const none = { secretsManager: false, yaml: false, kms: false, esdk: false };

describe('lazy modules of @strata/loader', () => {
  it('an SSM-only loadConfig loads none of them; a secretsmanager reference loads its client; a buildspec loads yaml', async () => {
    const steps = await inFreshProcess(`
      const schema = z.object({ db: z.object({ host: z.string() }), port: z.coerce.number() });
      const hierarchy = { levels: ['/app/prod'] };
      // the AWS backend, SSM only: an aborted signal fails the calls before any request is sent
      const aws = new core.AwsBackend({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        signal: AbortSignal.abort(new core.StrataError('UNAVAILABLE', 'test: no network')),
      });
      const failed = await loader
        .loadConfig({ schema, hierarchy, resolver: new core.Resolver({ backend: aws }) })
        .then(() => 'loaded', (e) => e.code);
      if (failed !== 'LOAD_FAILED' && failed !== 'UNAVAILABLE') throw new Error('unexpected: ' + failed);
      // the same config read from SSM parameters of the local backend
      const local = new core.LocalBackend(core.parseLocalTree({
        parameters: { '/app/prod/db/host': 'db.internal', '/app/prod/port': '5432' },
        secrets: { 'prod/token': 't0ken' },
      }));
      const resolver = new core.Resolver({ backend: local });
      const cfg = await loader.loadConfig({ schema, hierarchy, resolver });
      if (cfg.db.host !== 'db.internal' || cfg.port !== 5432) throw new Error('unexpected config');
      mark('ssm-only loadConfig');
      await loader.loadConfig({
        schema: schema.extend({ token: z.string() }),
        hierarchy,
        references: { token: '<<resolve:secretsmanager:prod/token>>' },
        resolver: new core.Resolver({ backend: aws }),
      }).catch(() => undefined);
      mark('secretsmanager reference');
      const env = loader.parseBuildspecEnv('env:\\n  variables:\\n    PORT: "80"\\n');
      if (env.PORT !== '80') throw new Error('unexpected buildspec');
      mark('buildspec');
      await aws.close();
    `);
    expect(steps).toEqual([
      { step: 'import', ...none },
      { step: 'ssm-only loadConfig', ...none },
      { step: 'secretsmanager reference', ...none, secretsManager: true },
      { step: 'buildspec', ...none, secretsManager: true, yaml: true },
    ]);
  }, 60_000);

  it('a sealed file loads yaml on its first load, and its values are read', async () => {
    const steps = await inFreshProcess(`
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const file = join(mkdtempSync(join(tmpdir(), 'strata-lazy-')), 'sealed.yaml');
      writeFileSync(file, 'db:\\n  host: db.internal\\n');
      const resolver = new core.Resolver({ backend: new core.LocalBackend(core.parseLocalTree({})) });
      mark('before');
      const cfg = await loader.loadConfig({
        schema: z.object({ db: z.object({ host: z.string() }) }),
        sealedFile: file,
        resolver,
      });
      if (cfg.db.host !== 'db.internal') throw new Error('unexpected config');
      mark('sealed file');
    `);
    expect(steps).toEqual([
      { step: 'import', ...none },
      { step: 'before', ...none },
      { step: 'sealed file', ...none, yaml: true },
    ]);
  }, 60_000);
});
