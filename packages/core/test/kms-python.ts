/**
 * The Python AWS Encryption SDK for interop tests: pip-installed (pinned) into its own virtualenv
 * in Strata's cache (like moto, see test/env/moto.ts), and run against the same moto process
 * through `AWS_ENDPOINT_URL_KMS`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '@strata/test-env/util';

const PY_ESDK_VERSION = '4.0.7';
/** boto3/botocore pinned too: AWS_ENDPOINT_URL_KMS needs botocore >= 1.31. */
const PINS = [`aws-encryption-sdk==${PY_ESDK_VERSION}`, 'boto3==1.44.8', 'botocore==1.44.8'];

function pyEsdkVenv(): string {
  return join(cacheDir(), `aws-encryption-sdk-${PY_ESDK_VERSION}-venv`);
}

/** Installs the Python Encryption SDK once; returns the venv's python. Clear error when pip fails. */
export function ensurePythonEsdk(log: (m: string) => void = () => {}): string {
  const venv = pyEsdkVenv();
  const python = join(venv, 'bin', 'python');
  const marker = join(venv, '.strata-installed');
  if (existsSync(marker)) return python;
  const host = process.env.PYTHON ?? 'python3';
  try {
    execFileSync(host, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `Python 3 is required for the Encryption SDK interop test and '${host}' was not found. ` +
        'Install Python 3 with pip and venv (e.g. `apt-get install python3 python3-venv python3-pip`), or set PYTHON.',
    );
  }
  log(`installing ${PINS.join(' ')} into ${venv} (first run only)`);
  mkdirSync(cacheDir(), { recursive: true });
  try {
    execFileSync(host, ['-m', 'venv', venv], { stdio: 'pipe' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', ...PINS], { stdio: 'pipe' });
    execFileSync(python, ['-c', 'import aws_encryption_sdk'], { stdio: 'pipe' });
    execFileSync('touch', [marker]);
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    throw new Error(
      `could not install ${PINS.join(' ')} with pip into ${venv}: ${e.message.split('\n')[0]}\n${e.stderr?.toString().slice(-2000) ?? ''}\n` +
        'Check that python3-venv and pip work and that PyPI is reachable; delete the venv directory to retry.',
    );
  }
  return python;
}

const SCRIPT = `
import base64, json, sys
import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
op, key, ctx = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key])
data = sys.stdin.buffer.read()
if op == 'encrypt':
    ct, _ = client.encrypt(source=data, key_provider=provider, encryption_context=ctx)
    sys.stdout.write(base64.b64encode(ct).decode())
else:
    pt, header = client.decrypt(source=base64.b64decode(data), key_provider=provider)
    for k, v in ctx.items():
        if header.encryption_context.get(k) != v:
            sys.stderr.write('encryption context mismatch for key ' + k)
            sys.exit(3)
    sys.stdout.buffer.write(pt)
`;

/** Runs the Python Encryption SDK: `encrypt` (stdin bytes -> base64) or `decrypt` (base64 -> bytes). */
export function pythonEsdk(
  python: string,
  op: 'encrypt' | 'decrypt',
  opts: { keyArn: string; context: Record<string, string>; input: Buffer | string; kmsEndpoint: string },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', SCRIPT, op, opts.keyArn, JSON.stringify(opts.context)], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_KMS: opts.kmsEndpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_REGION: 'us-east-1',
      },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`python ${op} exited ${code}: ${err.slice(-1500)}`)),
    );
    child.stdin.end(opts.input);
  });
}
