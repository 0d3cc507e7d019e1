/**
 * The local backend's data: a tree of parameters and secrets, parsed from plain data (a YAML or
 * JSON document, see `./backend.ts` for the format) or read from a directory. Parsing is linear
 * in the file's size: a 100,000-key file loads in a few seconds (yaml's own duplicate-key check is
 * quadratic, so duplicates are found in `./yaml.ts`, and are still an error).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ParameterType } from '../backend.js';
import { StrataError } from '../errors.js';
import { parseYamlText } from './yaml.js';

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

/** `/a//b/` and `a/b` are `/a/b`; the root is `/`. */
export function normPath(p: string): string {
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
