/**
 * Writing one parameter into a local tree file (YAML or JSON) or directory, atomically (a
 * temporary file renamed over the old one, so a reader never sees half a file). An existing entry
 * is changed where it is (comments and layout of a YAML file are kept; a JSON file stays JSON); a
 * new one goes into the deepest mapping that leads to it, else under `parameters:` by its full
 * name. A parameter's version is written only where the entry states a `version`.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { YAMLMap } from 'yaml';
import { parameterName } from '../aws/arn.js';
import { describeParseError, StrataError } from '../errors.js';
import { type LocalParameter, normPath } from './tree.js';
import { toPlain, yamlLib } from './yaml.js';

/**
 * Writes a file atomically: a temporary file next to it, flushed, then renamed over it (same
 * directory, so the rename is atomic). Keeps the old file's mode; a new file gets `mode`.
 */
function writeFileAtomic(path: string, data: string, mode = 0o600): void {
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
export function writableName(raw: string): string {
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
export function writeLocalParameter(path: string, name: string, p: LocalParameter): void {
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
  const { isMap, parseDocument } = yamlLib();
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
