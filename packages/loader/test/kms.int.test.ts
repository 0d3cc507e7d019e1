/**
 * The KMS commands of the `strata` CLI and sealed config files, against moto (and a fault proxy in
 * front of it). Every CLI run gets HOME, TMPDIR and its working directory in one scratch directory,
 * which is scanned at the end: no plaintext may be found on disk except where a test asked for it
 * (`unseal --out`), nor in any stderr.
 *
 * moto gap: moto's KMS ciphertexts are its own format (not real KMS's `AQICAH…` blobs); nothing
 * here depends on it — Strata detects Encryption SDK messages by their header.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
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
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfigDetailed } from '../src/config.js';

const BIN = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
const SECRET = 'Kms-CLI-Secret-Value-7731';
const PUT_SECRET = 'Put-Envelope-Secret-5519';
let scratch: string;
let work: string;
let keyArn: string;
let key2Arn: string;
let p: FaultProxy;
const stderrs: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strata(args: string[], opts: { input?: string; endpoint?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [BIN, '--endpoint', opts.endpoint ?? aws.motoEndpoint(), '--region', 'us-east-1', ...args],
      { cwd: work, env: { ...process.env, HOME: work, TMPDIR: join(work, 'tmp') } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => {
      stderrs.push(stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const f = join(dir, n);
    return statSync(f).isDirectory() ? filesUnder(f) : [f];
  });
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run \`npm run build\` first (npm test does)`);
  scratch = mkdtempSync(join(tmpdir(), 'strata-kms-cli-'));
  work = join(scratch, 'work');
  mkdirSync(join(work, 'tmp'), { recursive: true });
  const kms = aws.kms();
  keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  key2Arn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  p = await startFaultProxy(aws.motoEndpoint());
});
afterAll(async () => {
  await p.stop();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => p.reset());

describe('strata encrypt / decrypt / reencrypt / random', () => {
  it('round trips from stdin and --file, raw and envelope, with a context; --reference', async () => {
    for (const flag of ['--raw', '--envelope']) {
      const enc = await strata(
        ['encrypt', '--key', keyArn, '--context', 'app=shop', '--context', 'env=dev', flag],
        {
          input: SECRET,
        },
      );
      expect(enc.code).toBe(0);
      expect(enc.stdout).not.toContain(SECRET);
      const b64 = enc.stdout.trim();
      expect(b64.startsWith('AgV4')).toBe(flag === '--envelope');
      const dec = await strata(['decrypt', '--context', 'app=shop,env=dev'], { input: b64 });
      expect(dec).toMatchObject({ code: 0, stdout: SECRET });
    }
    writeFileSync(join(work, 'plain.txt'), SECRET);
    const ref = await strata([
      'encrypt',
      '--key',
      keyArn,
      '--context',
      'app=shop',
      '--file',
      'plain.txt',
      '--reference',
    ]);
    expect(ref.stdout).toMatch(/^<<resolve:kms:[A-Za-z0-9+/=]+:app=shop>>\n$/);
    writeFileSync(join(work, 'ref.txt'), ref.stdout);
    rmSync(join(work, 'plain.txt'));
    // a reference carries its context; the resolver reads it too
    expect((await strata(['decrypt', '--file', 'ref.txt'])).stdout).toBe(SECRET);
    expect((await strata(['resolve', ref.stdout.trim()])).stdout).toBe(`${SECRET}\n`);
    const json = JSON.parse((await strata(['--json', 'decrypt', '--file', 'ref.txt'])).stdout);
    expect(json).toMatchObject({ plaintext: SECRET, format: 'kms', keyId: keyArn, context: { app: 'shop' } });
  });

  it('a wrong context: exit 1, a clear message, no plaintext', async () => {
    for (const flag of ['--raw', '--envelope']) {
      const b64 = (
        await strata(['encrypt', '--key', keyArn, '--context', 'app=shop', flag], { input: SECRET })
      ).stdout;
      const bad = await strata(['decrypt', '--context', 'app=pay'], { input: b64 });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(
        flag === '--raw' ? /wrong encryption context/ : /encryption context does not match/,
      );
      expect(bad.stderr).not.toContain(SECRET);
    }
    const garbage = await strata(['decrypt'], { input: 'not base64!' });
    expect(garbage.code).toBe(2);
  });

  it('large values go envelope automatically; --raw refuses them', async () => {
    const big = 'L'.repeat(10 * 1024);
    const enc = await strata(['encrypt', '--key', keyArn], { input: big });
    expect(enc.stdout.startsWith('AgV4')).toBe(true);
    expect((await strata(['decrypt'], { input: enc.stdout })).stdout).toBe(big);
    const raw = await strata(['encrypt', '--key', keyArn, '--raw'], { input: big });
    expect(raw.code).toBe(1);
    expect(raw.stderr).toContain('4096');
  });

  it('reencrypt --to-key: a reference in, a reference out, readable with the new key', async () => {
    for (const flag of ['--raw', '--envelope']) {
      const ref = (
        await strata(['encrypt', '--key', keyArn, '--context', 'app=shop', '--reference', flag], {
          input: SECRET,
        })
      ).stdout;
      const re = await strata(['reencrypt', '--to-key', key2Arn], { input: ref });
      expect(re.code).toBe(0);
      expect(re.stdout).toMatch(/^<<resolve:kms:.*:app=shop>>\n$/);
      const json = JSON.parse((await strata(['--json', 'decrypt'], { input: re.stdout })).stdout);
      expect(json).toMatchObject({ plaintext: SECRET, keyId: key2Arn });
    }
  });

  it('random --bytes N prints N random bytes in base64; bad N is a usage error', async () => {
    const a = await strata(['random', '--bytes', '32']);
    expect(a.code).toBe(0);
    expect(Buffer.from(a.stdout.trim(), 'base64')).toHaveLength(32);
    expect((await strata(['random', '--bytes', '32'])).stdout).not.toBe(a.stdout);
    expect((await strata(['random', '--bytes', '5000'])).code).toBe(2);
  });

  it('ThrottlingException from KMS is retried by the CLI', async () => {
    // The first two KMS calls are always throttled (so the retry path certainly runs), then 30% at
    // random; the CLI's default 6 retries make a failure ~0.3^7 per call
    const ops = ['Encrypt', 'GenerateDataKey', 'Decrypt'];
    p.configure({
      rules: [
        { fault: 'throttle', ops, times: 2 },
        { fault: 'throttle', ops, rate: 0.3 },
      ],
    });
    for (let i = 0; i < 4; i++) {
      const enc = await strata(['encrypt', '--key', keyArn, i % 2 ? '--raw' : '--envelope'], {
        input: SECRET,
        endpoint: p.endpoint,
      });
      expect(enc.code).toBe(0);
      expect((await strata(['decrypt'], { input: enc.stdout, endpoint: p.endpoint })).stdout).toBe(SECRET);
    }
    expect(p.counts().faults.throttle).toBeGreaterThan(0);
  });
});

describe('strata seal / unseal and the loader', () => {
  const CONFIG = `# committed config
app:
  name: shop
db:
  host: db.internal
  password: ${SECRET} # rotate monthly
stripe:
  apiKey: sk-${SECRET}
note: !secret note-${SECRET}
`;

  it('seal replaces secret values with kms references; unseal restores them; the loader reads the file', async () => {
    writeFileSync(join(work, 'config.yaml'), CONFIG);
    const sealed = await strata([
      'seal',
      'config.yaml',
      '--key',
      keyArn,
      '--context',
      'app=shop',
      '--out',
      'config.sealed.yaml',
    ]);
    expect(sealed.code).toBe(0);
    expect(sealed.stderr).toContain('sealed 3 value(s): db.password, stripe.apiKey, note');
    rmSync(join(work, 'config.yaml'));
    const text = readFileSync(join(work, 'config.sealed.yaml'), 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).toContain('# rotate monthly');
    expect(text).toContain('name: shop');
    expect(text).toMatch(/password: <<resolve:kms:AgV4[^\s]*:app=shop>>/);

    const un = await strata(['unseal', 'config.sealed.yaml']);
    expect(un.code).toBe(0);
    expect(un.stdout).toContain(`password: "${SECRET}" # rotate monthly`);
    expect(un.stdout).toContain(`note: !secret "note-${SECRET}"`);

    // the loader: one KMS Decrypt for the whole file (its values share one data key)
    const loaded = await loadConfigDetailed({
      schema: z.object({
        app: z.object({ name: z.string() }),
        db: z.object({ host: z.string(), password: z.string() }),
        stripe: z.object({ apiKey: z.string() }),
        note: z.string(),
      }),
      sealedFile: join(work, 'config.sealed.yaml'),
      resolver: {
        aws: {
          endpoint: p.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 't', secretAccessKey: 't' },
        },
      },
    });
    expect(loaded.config.db.password).toBe(SECRET);
    expect(loaded.config.stripe.apiKey).toBe(`sk-${SECRET}`);
    expect(JSON.stringify(loaded.config)).not.toContain(SECRET);
    expect(loaded.secretPaths).toEqual(new Set(['db.password', 'stripe.apiKey', 'note']));
    expect(p.counts().calls['kms:Decrypt']).toBe(1);

    // resolve --file reads it as well
    const resolved = await strata(['resolve', '--file', 'config.sealed.yaml']);
    expect(resolved.stdout).toContain(`password: ${SECRET}`);
  });

  it('seal --raw uses KMS Encrypt per value; unseal --out writes a 0600 file', async () => {
    writeFileSync(join(work, 'c2.json'), JSON.stringify({ token: SECRET, port: 80 }));
    const sealed = await strata(['seal', 'c2.json', '--key', keyArn, '--raw'], { endpoint: p.endpoint });
    expect(p.counts().calls['kms:Encrypt']).toBe(1);
    const doc = JSON.parse(sealed.stdout);
    expect(doc.port).toBe(80);
    expect(doc.token).toMatch(/^<<resolve:kms:/);
    rmSync(join(work, 'c2.json'));
    writeFileSync(join(work, 'c2.sealed.json'), sealed.stdout);
    const out = join(scratch, 'unsealed.json');
    expect((await strata(['unseal', 'c2.sealed.json', '--out', out])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ token: SECRET, port: 80 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    rmSync(out);
  });
});

describe('strata put: envelope encryption for SecureStrings over the Standard tier', () => {
  it('stores a compressed envelope as a String in the Standard tier, reads it back, and diffs as unchanged', async () => {
    const big = JSON.stringify({ secret: PUT_SECRET, pem: 'MIIB'.repeat(1500) }); // ~6 KB, compressible
    writeFileSync(join(work, 'tree.yaml'), `cert: { value: '${big}', type: SecureString }\nplain: hello\n`);
    const dry = await strata([
      'put',
      '--from',
      'tree.yaml',
      '--path',
      '/kmsput/app',
      '--key-id',
      keyArn,
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+ /kmsput/app/cert String (envelope-encrypted SecureString) = ******');
    expect(dry.stdout).not.toContain(PUT_SECRET);
    const put = await strata(['put', '--from', 'tree.yaml', '--path', '/kmsput/app', '--key-id', keyArn]);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('1 envelope-encrypted');
    const stored = (await aws.ssm().send(new GetParameterCommand({ Name: '/kmsput/app/cert' }))).Parameter!;
    expect(stored.Type).toBe('String');
    expect(stored.Value).toMatch(/^<<resolve:kms:AgV4.*:parameter=%2Fkmsput%2Fapp%2Fcert>>$/);
    expect(stored.Value!.length).toBeLessThanOrEqual(4096);
    expect(stored.Value).not.toContain(PUT_SECRET);
    const load = await strata(['--json', 'load', '--level', '/kmsput/app', '--reveal']);
    expect(JSON.parse(load.stdout)).toEqual({ cert: big, plain: 'hello' });
    const masked = await strata(['load', '--level', '/kmsput/app']);
    expect(masked.stdout).toContain('cert = ******');
    const again = await strata(['diff', '--from', 'tree.yaml', '--path', '/kmsput/app', '--key-id', keyArn]);
    expect(again.stderr).toContain('0 to create, 0 to update, 2 unchanged');
    rmSync(join(work, 'tree.yaml')); // the test's own plaintext input
  });

  it('over 8 KB: the envelope is the only way in; incompressible 4–8 KB values stay SecureString (Advanced)', async () => {
    const huge = `${PUT_SECRET}-${'z'.repeat(12_000)}`;
    const noise = randomBytes(4500).toString('base64'); // ~6 KB, incompressible
    writeFileSync(
      join(work, 'tree2.yaml'),
      `huge: { value: '${huge}', type: SecureString }\nnoise: { value: '${noise}', type: SecureString }\n`,
    );
    const put = await strata(['put', '--from', 'tree2.yaml', '--path', '/kmsput/two', '--key-id', keyArn]);
    expect(put.code).toBe(0);
    const ssm = aws.ssm();
    const h = (await ssm.send(new GetParameterCommand({ Name: '/kmsput/two/huge' }))).Parameter!;
    expect(h.Type).toBe('String');
    const n = (await ssm.send(new GetParameterCommand({ Name: '/kmsput/two/noise', WithDecryption: true })))
      .Parameter!;
    expect(n.Type).toBe('SecureString');
    const load = await strata(['--json', 'load', '--level', '/kmsput/two', '--reveal']);
    expect(JSON.parse(load.stdout)).toEqual({ huge, noise });
    // without a key, a SecureString over 8 KB is refused, with the way out in the message
    const refused = await strata(['put', '--from', 'tree2.yaml', '--path', '/kmsput/three']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('--key-id');
    expect(refused.stderr).not.toContain(PUT_SECRET);
    rmSync(join(work, 'tree2.yaml')); // the test's own plaintext input
  });
});

describe('secrecy', () => {
  it('no plaintext in any stderr, nor in any file the CLI runs left in HOME, TMPDIR or the working directory', () => {
    expect(stderrs.length).toBeGreaterThan(20);
    for (const s of stderrs) {
      expect(s).not.toContain(SECRET);
      expect(s).not.toContain(PUT_SECRET);
    }
    for (const f of filesUnder(work)) {
      const content = readFileSync(f);
      for (const needle of [SECRET, PUT_SECRET]) {
        expect(content.includes(needle), `${f} contains a plaintext`).toBe(false);
        expect(
          content.includes(Buffer.from(needle).toString('base64')),
          `${f} contains a plaintext (base64)`,
        ).toBe(false);
      }
    }
  });
});
