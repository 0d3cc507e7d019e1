/**
 * The local backend: the same hierarchy and secret semantics as AWS, from a YAML/JSON file or a
 * directory. For the embedded default (no AWS account) and for users' own tests.
 *
 * File format (YAML or JSON):
 *
 * ```yaml
 * parameters:
 *   /acme/log-level: info                       # a String
 *   /acme/shop:                                 # a mapping below a path: keys are path segments
 *     feature-x: "true"
 *   /acme/shop/dev/db/password:
 *     value: s3cret
 *     type: SecureString                        # String | StringList | SecureString
 *     version: 3                                # optional, default 1
 *     labels: [stable]                          # optional
 * secrets:
 *   prod/db: { username: app, password: pw }    # an object is stored as its JSON string
 *   api-token: abc123
 * ```
 *
 * Directory format: every regular file under `DIR/parameters/` is a parameter named by its
 * path (`DIR/parameters/acme/shop/dev/db/url` is `/acme/shop/dev/db/url`; a `.secure` suffix
 * makes it a SecureString); every file under `DIR/secrets/` is a secret named by its path.
 *
 * Writes (`ssm.putParameter`, what `strata --local F put` uses) change the file or directory
 * atomically (a temporary file renamed over the old one, so a reader never sees half a file):
 * an existing entry is changed where it is (comments and layout of a YAML file are kept; a JSON
 * file stays JSON), a new one is added under `parameters:` by its full name. A parameter's version
 * goes up in memory; in the file only where the entry states a `version`.
 *
 * Parsing is linear in the file's size: a 100,000-key file loads in a few seconds (yaml's own
 * duplicate-key check is quadratic, so duplicates are found here, and are still an error).
 *
 * Local KMS: a `<<resolve:kms:…>>` ciphertext is base64 of `strata-local:` + the plaintext.
 * It is NOT encryption; it exists so examples and tests run offline. The local backend also
 * answers Encrypt, GenerateDataKey (a random data key "wrapped" the same way), ReEncrypt and
 * GenerateRandom, so `createKmsCrypto` and `strata encrypt`/`seal` work offline: Encryption SDK
 * messages made against it are real AES-GCM, but their data key is readable by anyone.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type YAMLMap } from 'yaml';
import { parameterName } from '../aws/arn.js';
import type {
  Backend,
  KmsBackend,
  Outcome,
  ParameterBackend,
  ParameterQuery,
  ParameterRecord,
  ParameterType,
  PutParameterInput,
  PutParameterResult,
  SecretBackend,
  SecretQuery,
  SecretRecord,
} from '../backend.js';
import { describeParseError, StrataError } from '../errors.js';
import { Stats } from '../stats.js';

export interface LocalParameter {
  value: string;
  type: ParameterType;
  version: number;
  labels: string[];
}

export interface LocalTree {
  parameters: Map<string, LocalParameter>;
  secrets: Map<string, string>;
}

const LOCAL_KMS_PREFIX = 'strata-local:';

/** Base64 "ciphertext" for the local backend's kms references (not encryption). */
export function localKmsCiphertext(plaintext: string): string {
  return Buffer.from(LOCAL_KMS_PREFIX + plaintext, 'utf8').toString('base64');
}

function normPath(p: string): string {
  const s = `/${p}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return s === '' ? '/' : s;
}

function scalar(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(',');
  throw new StrataError('INVALID_INPUT', `local tree: ${where} must be a string, number or boolean`, {
    source: where,
  });
}

/** Parses the file format above into a tree (pure). */
export function parseLocalTree(doc: unknown, origin = 'local tree'): LocalTree {
  const tree: LocalTree = { parameters: new Map(), secrets: new Map() };
  if (doc === null || doc === undefined) return tree;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new StrataError(
      'INVALID_INPUT',
      `${origin}: expected a mapping with 'parameters' and/or 'secrets'`,
    );
  }
  const { parameters, secrets, ...rest } = doc as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) {
    throw new StrataError(
      'INVALID_INPUT',
      `${origin}: unknown top-level key(s) ${unknownKeys.join(', ')} (expected parameters, secrets)`,
    );
  }
  const addParam = (path: string, v: unknown) => {
    const name = normPath(path);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if ('value' in o) {
        const type = (o.type ?? 'String') as ParameterType;
        if (!['String', 'StringList', 'SecureString'].includes(type)) {
          throw new StrataError(
            'INVALID_INPUT',
            `${origin}: ${name}: type must be String, StringList or SecureString`,
            { source: name },
          );
        }
        tree.parameters.set(name, {
          value: scalar(o.value, name),
          type,
          version: typeof o.version === 'number' ? o.version : 1,
          labels: Array.isArray(o.labels) ? o.labels.map(String) : [],
        });
        return;
      }
      for (const [k, child] of Object.entries(o)) addParam(`${name}/${k}`, child);
      return;
    }
    tree.parameters.set(name, {
      value: scalar(v, name),
      type: Array.isArray(v) ? 'StringList' : 'String',
      version: 1,
      labels: [],
    });
  };
  if (parameters !== undefined) {
    if (typeof parameters !== 'object' || parameters === null)
      throw new StrataError('INVALID_INPUT', `${origin}: 'parameters' must be a mapping`);
    for (const [k, v] of Object.entries(parameters)) addParam(k, v);
  }
  if (secrets !== undefined) {
    if (typeof secrets !== 'object' || secrets === null)
      throw new StrataError('INVALID_INPUT', `${origin}: 'secrets' must be a mapping`);
    for (const [id, v] of Object.entries(secrets as Record<string, unknown>)) {
      tree.secrets.set(
        id,
        v !== null && typeof v === 'object' ? JSON.stringify(v) : scalar(v, `secret ${id}`),
      );
    }
  }
  return tree;
}

/**
 * Parses YAML (or JSON) text into plain data, linear in its size. A mapping key given twice is an
 * INVALID_INPUT error naming the key and its line (yaml's own check of this is quadratic). Error
 * messages never quote the text.
 */
export function parseYamlText(text: string, origin: string): unknown {
  const lineCounter = new LineCounter();
  // errors only: the parser's warnings quote the document, which may hold secrets
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter, logLevel: 'error' });
  const first = doc.errors[0];
  if (first) {
    // never the parser's message: it quotes the offending text
    throw new StrataError('INVALID_INPUT', `${origin} is not valid YAML/JSON ${describeParseError(first)}`, {
      source: origin,
    });
  }
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = String(pair.key.value);
        if (seen.has(k)) {
          const at = pair.key.range ? ` (line ${lineCounter.linePos(pair.key.range[0]).line})` : '';
          throw new StrataError('INVALID_INPUT', `${origin}: key "${k.slice(0, 200)}" appears twice${at}`, {
            source: origin,
          });
        }
        seen.add(k);
      }
    },
  });
  return toPlain(doc, origin);
}

/**
 * `doc.toJS()` with its errors made ours: an alias without its anchor (or an alias bomb) throws a
 * message that quotes the alias name, which is text from the file and may be a secret.
 */
function toPlain(doc: ReturnType<typeof parseDocument>, origin: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 10_000 });
  } catch {
    throw new StrataError(
      'INVALID_INPUT',
      `${origin} is not valid YAML/JSON (an alias without its anchor, or too many aliases)`,
      { source: origin },
    );
  }
}

/**
 * Writes a file atomically: a temporary file next to it, flushed, then renamed over it (same
 * directory, so the rename is atomic). Keeps the old file's mode; a new file gets `mode`.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  let keep = mode;
  try {
    keep = statSync(path).mode & 0o777;
  } catch {
    /* a new file */
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', keep);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new StrataError(
      'INVALID_INPUT',
      `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        source: path,
        cause: err,
      },
    );
  }
}

const NAME_CHARS = /^[A-Za-z0-9_.\-/]+$/;

/** A parameter name the local backend may write: SSM's characters, no empty, `.` or `..` segment. */
function writableName(raw: string): string {
  const name = parameterName(raw);
  const segments = name.split('/').slice(1);
  if (
    !name.startsWith('/') ||
    !NAME_CHARS.test(name) ||
    segments.length === 0 ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new StrataError(
      'VALIDATION',
      `parameter name ${JSON.stringify(raw.slice(0, 200))} is not valid: a path of segments of [A-Za-z0-9_.-], e.g. /app/dev/db/url`,
      { source: raw.slice(0, 200) },
    );
  }
  return name;
}

function isPlainMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The key path (under `parameters`) of the entry that defines `name`, if there is one. */
function findEntry(obj: Record<string, unknown>, base: string, name: string): string[] | undefined {
  for (const [k, v] of Object.entries(obj)) {
    const p = normPath(`${base}/${k}`);
    if (p === name) return [k];
    if (isPlainMapping(v) && !('value' in v) && name.startsWith(`${p}/`)) {
      const rest = findEntry(v, p, name);
      if (rest) return [k, ...rest];
    }
  }
  return undefined;
}

/** The deepest mapping whose path leads to `name`: its key path and that path. */
function deepestParent(
  obj: Record<string, unknown>,
  base: string,
  name: string,
): { at: string[]; path: string } | undefined {
  for (const [k, v] of Object.entries(obj)) {
    const p = normPath(`${base}/${k}`);
    if (isPlainMapping(v) && !('value' in v) && name.startsWith(`${p}/`)) {
      const inner = deepestParent(v, p, name);
      return inner ? { at: [k, ...inner.at], path: inner.path } : { at: [k], path: p };
    }
  }
  return undefined;
}

/**
 * Where `name` goes under `parameters`: the entry that defines it; else a new key in the deepest
 * mapping that leads to it (`/app/dev: { db: … }` gets `/app/dev/db/password` as `password` in
 * `db`); else a new top-level key, its full name.
 */
function locate(params: Record<string, unknown>, name: string): string[] {
  const found = findEntry(params, '', name);
  if (found) return found;
  const parent = deepestParent(params, '', name);
  return parent ? [...parent.at, name.slice(parent.path.length + 1)] : [name];
}

/** Changes one parameter in a local tree file (YAML or JSON) or directory, atomically. */
function writeLocalParameter(path: string, name: string, p: LocalParameter): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    /* a new file */
  }
  if (isDir) {
    const file = join(path, 'parameters', ...name.split('/').slice(1));
    writeFileAtomic(p.type === 'SecureString' ? `${file}.secure` : file, `${p.value}\n`, 0o600);
    rmSync(p.type === 'SecureString' ? file : `${file}.secure`, { force: true });
    return;
  }
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* a new file */
  }
  const asMap = (e: unknown) => isPlainMapping(e) && 'value' in e;
  if (path.endsWith('.json') || /^\s*\{/.test(text)) {
    let doc: Record<string, unknown>;
    try {
      doc = (text.trim() === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    } catch {
      // never JSON.parse's message: it quotes the text around the error, which may be a secret
      throw new StrataError('INVALID_INPUT', `local tree ${path} is not valid JSON`, { source: path });
    }
    if (!isPlainMapping(doc.parameters)) doc.parameters = {};
    const params = doc.parameters as Record<string, unknown>;
    const at = locate(params, name);
    let node: Record<string, unknown> = params;
    for (const k of at.slice(0, -1)) node = node[k] as Record<string, unknown>;
    const last = at[at.length - 1]!;
    const old = node[last];
    node[last] = asMap(old)
      ? {
          ...(old as Record<string, unknown>),
          value: p.value,
          type: p.type,
          ...('version' in (old as Record<string, unknown>) ? { version: p.version } : {}),
        }
      : p.type === 'String'
        ? p.value
        : { value: p.value, type: p.type };
    writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`);
    return;
  }
  const doc = parseDocument(text, { uniqueKeys: false, logLevel: 'error' });
  if (doc.errors[0]) {
    throw new StrataError(
      'INVALID_INPUT',
      `local tree ${path} is not valid YAML/JSON ${describeParseError(doc.errors[0])}`,
      { source: path },
    );
  }
  const plain = toPlain(doc, `local tree ${path}`) as Record<string, unknown> | null;
  const params = isPlainMapping(plain?.parameters) ? plain.parameters : {};
  const at = locate(params, name);
  const keyPath = ['parameters', ...at];
  const old = doc.getIn(keyPath, true);
  if (isMap(old) && (old as YAMLMap).has('value')) {
    const m = old as YAMLMap;
    m.set('value', p.value);
    if (p.type !== 'String' || m.has('type')) m.set('type', p.type);
    if (m.has('version')) m.set('version', p.version);
  } else if (p.type === 'String') {
    doc.setIn(keyPath, p.value);
  } else {
    doc.setIn(keyPath, doc.createNode({ value: p.value, type: p.type }));
  }
  writeFileAtomic(path, doc.toString());
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Reads a YAML/JSON file or a directory (see the module comment). */
export function readLocalTree(path: string): LocalTree {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new StrataError('INVALID_INPUT', `local tree ${path} does not exist`, { source: path });
  }
  if (st.isFile()) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new StrataError('INVALID_INPUT', `local tree ${path} is not readable`, { source: path });
    }
    return parseLocalTree(parseYamlText(text, `local tree ${path}`), path);
  }
  const tree: LocalTree = { parameters: new Map(), secrets: new Map() };
  const params = join(path, 'parameters');
  const secrets = join(path, 'secrets');
  try {
    for (const f of walk(params)) {
      let name = `/${relative(params, f).split(sep).join('/')}`;
      const secure = name.endsWith('.secure');
      if (secure) name = name.slice(0, -'.secure'.length);
      tree.parameters.set(name, {
        value: readFileSync(f, 'utf8').replace(/\n$/, ''),
        type: secure ? 'SecureString' : 'String',
        version: 1,
        labels: [],
      });
    }
  } catch {
    /* no parameters dir */
  }
  try {
    for (const f of walk(secrets)) {
      tree.secrets.set(relative(secrets, f).split(sep).join('/'), readFileSync(f, 'utf8').replace(/\n$/, ''));
    }
  } catch {
    /* no secrets dir */
  }
  return tree;
}

function notFound(what: string): Outcome<never> {
  return { ok: false, error: new StrataError('NOT_FOUND', `${what} not found`, { source: what }) };
}

export class LocalBackend implements Backend {
  readonly kind = 'local' as const;
  readonly stats: Stats;
  readonly ssm: ParameterBackend;
  readonly secrets: SecretBackend;
  readonly kms: KmsBackend;
  private tree: LocalTree;
  /** The file or directory the tree was read from; writes go there. */
  private path: string | undefined;

  /** `Backend.close()`: nothing to release. */
  async close(): Promise<void> {}

  constructor(source: string | LocalTree, opts: { stats?: Stats; region?: string } = {}) {
    this.stats = opts.stats ?? new Stats();
    this.tree = typeof source === 'string' ? readLocalTree(source) : source;
    this.path = typeof source === 'string' ? source : undefined;
    const path = () => this.path;
    const region = opts.region ?? 'local';
    const tree = () => this.tree;
    const stats = this.stats;
    this.ssm = {
      region,
      async getParameters(queries: ParameterQuery[]) {
        stats.call('local:GetParameters');
        return queries.map((q) => {
          const name = parameterName(q.name);
          if (name.startsWith('/aws/reference/secretsmanager/')) {
            const id = name.slice('/aws/reference/secretsmanager/'.length);
            const s = tree().secrets.get(id);
            return s === undefined
              ? notFound(`parameter ${name}`)
              : {
                  ok: true as const,
                  value: {
                    name,
                    value: s,
                    type: 'SecureString' as const,
                    version: 1,
                    fromSecretsManager: true,
                  },
                };
          }
          const p = tree().parameters.get(name);
          if (!p) return notFound(`parameter ${name}`);
          if (q.version !== undefined && q.version !== p.version)
            return notFound(`parameter ${name}:${q.version}`);
          if (q.label !== undefined && !p.labels.includes(q.label))
            return notFound(`parameter ${name}:${q.label}`);
          return { ok: true as const, value: { name, value: p.value, type: p.type, version: p.version } };
        });
      },
      async getParametersByPath(path: string, o: { recursive: boolean }) {
        stats.call('local:GetParametersByPath');
        const base = normPath(path);
        const out: ParameterRecord[] = [];
        for (const [name, p] of tree().parameters) {
          if (!name.startsWith(`${base}/`)) continue;
          const rest = name.slice(base.length + 1);
          if (!o.recursive && rest.includes('/')) continue;
          out.push({ name, value: p.value, type: p.type, version: p.version });
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      },
      async putParameter(input: PutParameterInput): Promise<PutParameterResult> {
        stats.call('local:PutParameter');
        const name = writableName(input.name);
        if (!['String', 'StringList', 'SecureString'].includes(input.type))
          throw new StrataError('VALIDATION', `${name}: type must be String, StringList or SecureString`, {
            source: name,
          });
        const existing = tree().parameters.get(name);
        if (existing && input.overwrite === false)
          throw new StrataError('VALIDATION', `parameter ${name} already exists (overwrite is off)`, {
            source: name,
          });
        const next: LocalParameter = {
          value: input.value,
          type: input.type,
          version: (existing?.version ?? 0) + 1,
          labels: existing?.labels ?? [],
        };
        const file = path();
        if (file !== undefined) writeLocalParameter(file, name, next);
        tree().parameters.set(name, next);
        return { name, version: next.version, ...(input.tier ? { tier: input.tier } : {}) };
      },
    };
    this.secrets = {
      region,
      async getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]> {
        stats.call('local:GetSecrets');
        return queries.map((q) => {
          const s = tree().secrets.get(q.secretId);
          if (s === undefined) return notFound(`secret ${q.secretId}`);
          if (q.versionStage && q.versionStage !== 'AWSCURRENT')
            return notFound(`secret ${q.secretId} stage ${q.versionStage}`);
          return {
            ok: true as const,
            value: {
              id: q.secretId,
              name: q.secretId,
              arn: `arn:local:secretsmanager:${region}:000000000000:secret:${q.secretId}`,
              versionId: 'local-1',
              stages: ['AWSCURRENT'],
              secretString: s,
            },
          };
        });
      },
      async currentVersionId(id: string) {
        return tree().secrets.has(id) ? 'local-1' : undefined;
      },
    };
    const localKeyArn = (keyId?: string) =>
      keyId?.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:000000000000:key/${keyId ?? 'local'}`;
    const prefix = Buffer.from(LOCAL_KMS_PREFIX, 'utf8');
    const wrap = (plaintext: Uint8Array) => new Uint8Array(Buffer.concat([prefix, plaintext]));
    const unwrap = (ciphertext: Uint8Array): Uint8Array => {
      const buf = Buffer.from(ciphertext);
      if (buf.length < prefix.length || !buf.subarray(0, prefix.length).equals(prefix)) {
        throw new StrataError(
          'DECRYPT_FAILED',
          'local kms: ciphertext was not made by localKmsCiphertext() or the local backend',
        );
      }
      return new Uint8Array(buf.subarray(prefix.length));
    };
    this.kms = {
      region,
      async decrypt(ciphertext: Uint8Array) {
        stats.call('local:Decrypt');
        return unwrap(ciphertext);
      },
      async decryptWithKey(input) {
        stats.call('local:Decrypt');
        return { keyId: input.keyId ?? localKeyArn(), plaintext: unwrap(input.ciphertext) };
      },
      async encrypt(input) {
        stats.call('local:Encrypt');
        return { keyId: localKeyArn(input.keyId), ciphertext: wrap(input.plaintext) };
      },
      async generateDataKey(input) {
        stats.call('local:GenerateDataKey');
        const plaintext = new Uint8Array(randomBytes(input.bytes));
        return { keyId: localKeyArn(input.keyId), plaintext, ciphertext: wrap(plaintext) };
      },
      async reEncrypt(input) {
        stats.call('local:ReEncrypt');
        return { keyId: localKeyArn(input.toKeyId), ciphertext: wrap(unwrap(input.ciphertext)) };
      },
      async generateRandom(bytes: number) {
        stats.call('local:GenerateRandom');
        return new Uint8Array(randomBytes(bytes));
      },
    };
  }

  /** Re-reads the source (a file or directory) — e.g. after it changed on disk. */
  reload(source: string | LocalTree): void {
    this.tree = typeof source === 'string' ? readLocalTree(source) : source;
    this.path = typeof source === 'string' ? source : undefined;
  }
}
