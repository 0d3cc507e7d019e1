/**
 * Importing @strata/core does not load the KMS client (`@aws-sdk/client-kms`) or the Encryption
 * SDK (`@aws-crypto/client-node`): a process that never meets a kms reference never pays for them.
 * They load on first use — the first KMS call, the first envelope. Nor does it load the Secrets
 * Manager client (first Secrets Manager call of the AWS backend) or `yaml` (first YAML text read). Each case runs in a fresh Node
 * process (a module, once loaded, stays loaded), importing the package by its name from source
 * (the `strata-source` condition, through tsx); a CommonJS module is in `require.cache` once
 * loaded, which is what is checked.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs `body` (module code, `core` is the imported package) in a fresh process; returns what it printed. */
async function inFreshProcess(
  body: string,
): Promise<Array<{ step: string; kms: boolean; esdk: boolean; sm?: boolean; yaml?: boolean }>> {
  const all = body.includes('// mark all');
  const script = `
    import { createRequire } from 'node:module';
    const out = [];
    const mark = (step) => {
      const keys = Object.keys(createRequire(import.meta.url).cache);
      out.push({
        step,
        kms: keys.some((k) => k.includes('/@aws-sdk/client-kms/')),
        esdk: keys.some((k) => k.includes('/@aws-crypto/')),
        ...(globalThis.markAll ? {
          sm: keys.some((k) => k.includes('/@aws-sdk/client-secrets-manager/')),
          yaml: keys.some((k) => k.includes('/node_modules/yaml/')),
        } : {}),
      });
    };
    globalThis.markAll = ${all};
    const core = await import('@strata/core');
    mark('import');
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

describe('lazy KMS and Encryption SDK', () => {
  it('importing the package loads neither; resolving ssm and secrets references still loads neither', async () => {
    const steps = await inFreshProcess(`
      const backend = new core.LocalBackend(core.parseLocalTree({
        parameters: { '/app/url': 'postgres://<<resolve:secretsmanager:db:SecretString:pw>>@db' },
        secrets: { db: { pw: 'x' } },
      }));
      const r = new core.Resolver({ backend });
      const v = await r.resolveTemplate('<<resolve:ssm:/app/url>>');
      if (v.value !== 'postgres://x@db') throw new Error('unexpected value');
      mark('resolved ssm + secretsmanager');
      new core.AwsBackend({ region: 'us-east-1' });
      core.createKmsCrypto({ backend });
      mark('constructed an AwsBackend and a KmsCrypto');
    `);
    expect(steps).toEqual([
      { step: 'import', kms: false, esdk: false },
      { step: 'resolved ssm + secretsmanager', kms: false, esdk: false },
      { step: 'constructed an AwsBackend and a KmsCrypto', kms: false, esdk: false },
    ]);
  }, 60_000);

  it('the first KMS call of the AWS backend loads the KMS client; the first envelope loads the Encryption SDK', async () => {
    const steps = await inFreshProcess(`
      // An aborted signal fails the call before any request is sent: no network is needed.
      const aws = new core.AwsBackend({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        signal: AbortSignal.abort(new core.StrataError('UNAVAILABLE', 'test: no network')),
      });
      const failed = await aws.kms.decrypt(new Uint8Array([1, 2, 3])).then(() => 'sent', (e) => e.code);
      if (failed !== 'UNAVAILABLE' || Object.keys(aws.stats.snapshot().calls).length > 0)
        throw new Error('a KMS request was sent');
      mark('kms call');
      const local = new core.LocalBackend(core.parseLocalTree({}));
      const crypto = core.createKmsCrypto({ backend: local });
      const raw = await crypto.encrypt('small', { keyId: 'k', mode: 'raw' });
      await crypto.decrypt(raw.ciphertext);
      mark('raw encrypt + decrypt');
      const sealed = await crypto.encrypt('big', { keyId: 'k', mode: 'envelope' });
      await crypto.decrypt(sealed.ciphertext);
      mark('envelope');
      await aws.close();
    `);
    expect(steps).toEqual([
      { step: 'import', kms: false, esdk: false },
      { step: 'kms call', kms: true, esdk: false },
      { step: 'raw encrypt + decrypt', kms: true, esdk: false },
      { step: 'envelope', kms: true, esdk: true },
    ]);
  }, 60_000);
  it('a failed Encryption SDK import fails that call with a coded error, and the next call loads it', async () => {
    // an envelope message made offline (the local backend's KMS), in a process of its own
    const made = await inFreshProcess(`
      const crypto = core.createKmsCrypto({ backend: new core.LocalBackend(core.parseLocalTree({})) });
      const sealed = await crypto.encrypt('canary-envelope-value', { keyId: 'k', mode: 'envelope' });
      out.push({ step: sealed.ciphertext, kms: false, esdk: true });
    `);
    const ciphertext = made[1]!.step;
    // the first import of the Encryption SDK fails (as under EMFILE); the ones after it do not
    const hooks = `
      let n = 0;
      export async function resolve(specifier, context, next) {
        if (specifier === '@aws-crypto/client-node' && n++ === 0)
          throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
        return next(specifier, context);
      }`;
    const steps = await inFreshProcess(`
      const { register } = await import('node:module');
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const crypto = core.createKmsCrypto({ backend: new core.LocalBackend(core.parseLocalTree({})) });
      const first = await crypto.decrypt('${ciphertext}').then(
        () => 'decrypted',
        (e) => (e instanceof core.StrataError ? e.code + ': ' + e.message : 'uncoded: ' + e),
      );
      mark(first);
      const second = await crypto.decrypt('${ciphertext}').then(
        (r) => r.plaintext.toString('utf8'),
        (e) => 'failed again: ' + (e.code ?? e),
      );
      mark(second);
    `);
    expect(steps).toEqual([
      { step: 'import', kms: false, esdk: false },
      {
        step: 'UNAVAILABLE: kms: the module @aws-crypto/client-node could not be loaded',
        kms: false,
        esdk: false,
      },
      { step: 'canary-envelope-value', kms: true, esdk: true },
    ]);
  }, 60_000);
});

describe('lazy Secrets Manager client and yaml', () => {
  it('importing the package and reading SSM parameters through the AWS backend load neither; the first Secrets Manager call loads its client; the first YAML text loads yaml', async () => {
    const steps = await inFreshProcess(`
      // mark all
      // An aborted signal fails each call before any request is sent: no network is needed.
      const aws = new core.AwsBackend({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        signal: AbortSignal.abort(new core.StrataError('UNAVAILABLE', 'test: no network')),
      });
      const ssm = await aws.ssm.getParameters([{ name: '/app/url' }]);
      if (ssm[0].ok || ssm[0].error.code !== 'UNAVAILABLE') throw new Error('unexpected ssm outcome');
      const local = new core.LocalBackend(core.parseLocalTree({ parameters: { '/app/url': 'u' } }));
      const r = await new core.Resolver({ backend: local }).resolveTemplate('<<resolve:ssm:/app/url>>');
      if (r.value !== 'u') throw new Error('unexpected value');
      mark('ssm reads');
      const sm = await aws.secrets.getSecrets([{ secretId: 'db' }]);
      if (sm[0].ok || sm[0].error.message !== 'test: no network') throw new Error('unexpected secrets outcome');
      mark('secrets manager call');
      if (core.parseYamlText('a: 1', 'text').a !== 1) throw new Error('unexpected yaml');
      mark('yaml text');
      await aws.close();
    `);
    expect(steps).toEqual([
      { step: 'import', kms: false, esdk: false, sm: false, yaml: false },
      { step: 'ssm reads', kms: false, esdk: false, sm: false, yaml: false },
      { step: 'secrets manager call', kms: false, esdk: false, sm: true, yaml: false },
      { step: 'yaml text', kms: false, esdk: false, sm: true, yaml: true },
    ]);
  }, 60_000);

  it('a failed Secrets Manager client import fails those reads with a coded error naming the module, and the next call loads it', async () => {
    const hooks = `
      let n = 0;
      export async function resolve(specifier, context, next) {
        if (specifier === '@aws-sdk/client-secrets-manager' && n++ === 0)
          throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
        return next(specifier, context);
      }`;
    const steps = await inFreshProcess(`
      // mark all
      const { register } = await import('node:module');
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const aws = new core.AwsBackend({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        signal: AbortSignal.abort(new core.StrataError('UNAVAILABLE', 'test: no network')),
      });
      const say = (o) => (o.ok ? 'read' : o.error instanceof core.StrataError ? o.error.code + ': ' + o.error.message : 'uncoded');
      mark(say((await aws.secrets.getSecrets([{ secretId: 'db' }]))[0]));
      mark(say((await aws.secrets.getSecrets([{ secretId: 'db' }]))[0]));
      await aws.close();
    `);
    expect(steps).toEqual([
      { step: 'import', kms: false, esdk: false, sm: false, yaml: false },
      {
        step: 'UNAVAILABLE: secretsmanager: the module @aws-sdk/client-secrets-manager could not be loaded',
        kms: false,
        esdk: false,
        sm: false,
        yaml: false,
      },
      // loaded now: the call itself fails only on the aborted signal
      { step: 'UNAVAILABLE: test: no network', kms: false, esdk: false, sm: true, yaml: false },
    ]);
  }, 60_000);
});
