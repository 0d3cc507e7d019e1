/**
 * The operator's container image in the test environment. No image registry is reachable here,
 * so the Node 20 base image is made locally from Debian's packages plus Node's own binary
 * distribution (./build-base-image.sh, cached in ~/.cache/strata), and the operator image is
 * built from packages/operator/Dockerfile with podman (runc), tagged by a hash of its inputs so
 * an unchanged tree reuses the image already in podman's storage.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PrerequisiteError } from './util.js';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONTAINERS_CONF = fileURLToPath(new URL('./containers.conf', import.meta.url));
const BASE_IMAGE_SCRIPT = fileURLToPath(new URL('./build-base-image.sh', import.meta.url));
export const OPERATOR_IMAGE_REPO = 'localhost/strata-operator';

const INSTALL_HINT =
  'Install the container engine with: sudo apt-get install -y podman runc debootstrap uidmap fuse-overlayfs slirp4netns ' +
  '(see test/README.md).';

/** Environment for podman: our containers.conf (runc, no default ulimits) unless one is given. */
export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF };
}

/** Runs podman (with runc) and resolves to its stdout; rejects with its stderr. */
export async function podman(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run('podman', ['--runtime', process.env.STRATA_OCI_RUNTIME ?? 'runc', ...args], {
      env: podmanEnv(),
      maxBuffer: 256 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 120_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new PrerequisiteError(`podman is not installed. ${INSTALL_HINT}`);
    throw new Error(`podman ${args[0]} failed: ${(e.stderr ?? e.message).trim().slice(-2000)}`);
  }
}

async function onPath(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

/** Fails with install instructions when podman or runc is missing. */
export async function requireContainerEngine(): Promise<void> {
  for (const cmd of ['podman', 'runc']) {
    if (!(await onPath(cmd))) throw new PrerequisiteError(`${cmd} is not installed. ${INSTALL_HINT}`);
  }
}

/** Makes (first run) or reuses the local Node 20 base image; resolves to its name. */
export async function ensureBaseImage(log: (m: string) => void = () => {}): Promise<string> {
  await requireContainerEngine();
  // STRATA_BASE_IMAGE: use this Node 20 image instead (e.g. the public one, where a registry is
  // reachable). debootstrap is needed only while the cached root filesystem is missing; the
  // script says so.
  if (process.env.STRATA_BASE_IMAGE) return process.env.STRATA_BASE_IMAGE;
  log('base image: make or reuse (test/env/build-base-image.sh)');
  try {
    const { stdout, stderr } = await run('bash', [BASE_IMAGE_SCRIPT], {
      env: podmanEnv(),
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
    for (const line of stderr.split('\n')) if (line.startsWith('[build-base-image')) log(line);
    return stdout.trim().split('\n').pop()!;
  } catch (err) {
    const e = err as { code?: number; stderr?: string; message: string };
    const msg = (e.stderr ?? e.message).trim().slice(-2000);
    if (e.code === 3) throw new PrerequisiteError(msg);
    throw new Error(`building the base image failed: ${msg}`);
  }
}

/** The files the operator image is built from (the Dockerfile's inputs), relative to the root. */
function imageInputs(): string[] {
  const files = [
    'packages/operator/Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'turbo.json',
    'tsconfig.base.json',
    '.npmrc',
    'test/package.json',
  ];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(REPO_ROOT, dir)).sort()) {
      if (name === 'node_modules' || name === 'dist' || name === '.turbo') continue;
      const rel = join(dir, name);
      if (statSync(join(REPO_ROOT, rel)).isDirectory()) walk(rel);
      else files.push(rel);
    }
  };
  for (const pkg of ['packages/core', 'packages/operator']) {
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) files.push(`${pkg}/${f}`);
    walk(`${pkg}/src`);
  }
  return [...new Set(files)].filter((f) => existsSync(join(REPO_ROOT, f)));
}

/** A hash of everything the image is made from: the inputs and the base image. */
export function operatorImageHash(baseImage: string): string {
  const h = createHash('sha256').update(`base=${baseImage}\n`);
  for (const f of imageInputs()) {
    h.update(`${relative('.', f)}\n`);
    h.update(readFileSync(join(REPO_ROOT, f)));
    h.update('\n');
  }
  return h.digest('hex').slice(0, 16);
}

/** The tag the operator image of this tree has on this base (whether or not it is built yet). */
export async function operatorImageName(
  base = process.env.STRATA_BASE_IMAGE ??
    `localhost/node:${process.env.NODE_VERSION ?? '20.20.2'}-bookworm-slim`,
): Promise<string> {
  const baseId = (await podman(['image', 'inspect', '--format', '{{.Id}}', base]).catch(() => '')).trim();
  return `${OPERATOR_IMAGE_REPO}:${operatorImageHash(`${base}@${baseId}`)}`;
}

/**
 * Builds the operator image from packages/operator/Dockerfile on the local base image, or reuses
 * the one already built from the same inputs. The build reaches the npm registry through the
 * host's npm cache (mounted) and, behind a TLS-intercepting proxy, the host's CA bundle
 * (NODE_EXTRA_CA_CERTS, passed as a build argument: it never reaches the image).
 */
export async function ensureOperatorImage(log: (m: string) => void = () => {}): Promise<string> {
  const base = await ensureBaseImage(log);
  const image = await operatorImageName(base);
  const exists = await podman(['image', 'exists', image]).then(
    () => true,
    () => false,
  );
  if (exists) {
    log(`operator image ${image}: up to date`);
    return image;
  }
  log(`building ${image} from packages/operator/Dockerfile (BASE=${base})`);
  const args = [
    'build',
    '--network',
    'host',
    '--build-arg',
    `BASE=${base}`,
    '-f',
    join(REPO_ROOT, 'packages/operator/Dockerfile'),
    '-t',
    image,
  ];
  const npmCache = process.env.npm_config_cache ?? join(homedir(), '.npm');
  if (existsSync(npmCache)) args.push('-v', `${npmCache}:/root/.npm`);
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca && existsSync(ca)) {
    args.push(
      '-v',
      `${ca}:/etc/strata-build-ca.crt:ro`,
      '--build-arg',
      'NODE_EXTRA_CA_CERTS=/etc/strata-build-ca.crt',
    );
  }
  args.push(REPO_ROOT);
  const started = Date.now();
  await podman(args, { timeoutMs: 30 * 60_000 });
  log(`built ${image} in ${Math.round((Date.now() - started) / 1000)} s`);
  return image;
}

/** The image's size in bytes, as podman reports it (uncompressed, all layers). */
export async function imageSize(image: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}
