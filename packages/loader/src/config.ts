/**
 * Typed configuration for Node apps: a zod schema + a hierarchy + optional references and
 * environment, resolved by @strata/core into a deeply frozen, secret-masked object whose type
 * is inferred from the schema. Hot reload (watchConfig) is in watch.ts.
 */
import {
  buildLevels,
  createResolver,
  type HierarchyEntry,
  type HierarchyInput,
  type Issue,
  issuesOf,
  loadFailed,
  namesForKeys,
  type Reference,
  type ReferenceAllowList,
  type Resolved,
  Resolver,
  type ResolverOptions,
  type SourceInfo,
  StrataError,
  shortName,
  unsafeKeySegment,
} from '@strata/core';
import type { z } from 'zod';
import { keyVariants } from './iam.js';
import { normalizeKey, placeKeys, schemaKeys } from './keys.js';
import { freezeMasked } from './mask.js';
import type { SealedValue } from './seal.js';

export interface ConfigOptions<S extends z.ZodType> {
  /** The zod schema; its inferred type is the config's type. */
  schema: S;
  /** Where keys come from: a template with variables or explicit levels. Optional when only references are used. */
  hierarchy?: HierarchyInput;
  /**
   * A sealed config file (YAML/JSON, see `strata seal`): its leaves are keys (`db.password`) and its
   * `<<resolve:…>>` values (kms references for sealed secrets) are resolved. Overrides the
   * hierarchy; `references` and `env` override it.
   */
  sealedFile?: string;
  /** Extra keys from references: `{ 'db.password': '<<resolve:secretsmanager:prod/db:SecretString:password>>' }`. Override the hierarchy. */
  references?: Record<string, string>;
  /** Keys from environment variables: `{ port: 'PORT' }`. Override everything else; may contain references. */
  env?: Record<string, string>;
  /** The environment to read `env` from. Default process.env. */
  environment?: Record<string, string | undefined>;
  /**
   * Fetch the schema's keys directly (GetParameters) instead of listing the hierarchy by path.
   * Default true when the schema is an object with known keys and has no catch-all.
   */
  fetchSchemaKeys?: boolean;
  /** A resolver to share (recommended in servers), or options for a new one. */
  resolver?: Resolver | ResolverOptions;
  /**
   * Shared parameters and secrets that references inside hierarchy values may name although they
   * lie in a sibling branch of the hierarchy (see @strata/core's no-leak rule). Default: none.
   */
  allowReferences?: ReferenceAllowList;
}

/** Where one config key came from (for `explain`). Never holds the value. */
export interface KeySource {
  key: string;
  secret: boolean;
  from: 'hierarchy' | 'sealed-file' | 'reference' | 'env';
  /** Parameter name, secret id, env variable. */
  source: string;
  /** The hierarchy entry's origin and references, without its value. */
  entry?: Omit<HierarchyEntry, 'value'>;
  reference?: string;
  version?: string;
}

export interface LoadedConfig<T> {
  config: T;
  sources: Map<string, KeySource>;
  /** Dotted paths of secret leaves. */
  secretPaths: Set<string>;
}

export function resolverOf(r: Resolver | ResolverOptions | undefined): Resolver {
  return r instanceof Resolver ? r : createResolver(r ?? {});
}

/** Sets `key`, dropping a key it overrides that is spelled differently (log-level vs logLevel). */
function override(values: Map<string, unknown>, key: string, value: unknown): void {
  for (const k of [...values.keys()]) if (normalizeKey(k) === normalizeKey(key)) values.delete(k);
  values.set(key, value);
}

/** Adds the AWS sources of resolved references (kms ciphertexts never change: not sources). */
function addSources(read: Set<string>, sources: SourceInfo[] | undefined): void {
  for (const s of sources ?? []) if (s.service !== 'kms') read.add(s.id);
}

/**
 * Records the target of every reference a load meets, at any depth, before it is fetched:
 * a failed load records what it read too (not only the reference that failed), so the next
 * refresh re-reads it instead of serving what the failed one left in the cache.
 */
function recordReferences(read: Set<string>): (ref: Reference) => undefined {
  return (ref) => {
    if (ref.service === 'ssm') read.add(ref.name);
    else if (ref.service === 'secretsmanager') read.add(ref.secretId);
    return undefined;
  };
}

/**
 * Resolves the references in `text` (the value of `key`), recording each reference's target in
 * `read` as it is met (see recordReferences). Fails with LOAD_FAILED holding one issue for `key`.
 */
async function resolveTracked(
  resolver: Resolver,
  key: string,
  text: string,
  read: Set<string>,
): Promise<Resolved> {
  const out = await resolver.resolveMap({ [key]: text }, { checkReference: recordReferences(read) });
  return out[key]!;
}

/** Adds the sources a failed step names (a parameter, a secret, a reference's target). */
function addIssueSources(read: Set<string>, issues: Issue[]): void {
  for (const i of issues) if (i.source) read.add(i.source);
}

/** Loads once. Throws one StrataError (LOAD_FAILED) listing every missing or invalid key. */
export async function loadConfigDetailed<S extends z.ZodType>(
  opts: ConfigOptions<S>,
): Promise<LoadedConfig<z.infer<S>>> {
  return loadTracked(opts, new Set());
}

/**
 * loadConfigDetailed, adding to `read` every source it reads as it goes (failed steps included):
 * level paths, parameter names, secret ids. watchConfig invalidates exactly these on a refresh,
 * so a resolver shared with others keeps their cached values.
 */
export async function loadTracked<S extends z.ZodType>(
  opts: ConfigOptions<S>,
  read: Set<string>,
): Promise<LoadedConfig<z.infer<S>>> {
  const resolver = resolverOf(opts.resolver);
  const keys = schemaKeys(opts.schema);
  const values = new Map<string, unknown>();
  const sources = new Map<string, KeySource>();
  const issues: Issue[] = [];

  if (opts.hierarchy) {
    const fetchKeys = (opts.fetchSchemaKeys ?? keys.length > 0) && keys.length > 0;
    try {
      const levels = buildLevels(opts.hierarchy);
      for (const level of levels) read.add(level.path);
      const wanted = fetchKeys ? keys.flatMap(keyVariants) : [];
      // schema keys are read one name at a time, not by listing a path: record each name, so a
      // refresh after a failed one re-reads a parameter created (or fixed) since
      for (const { name } of namesForKeys(levels, wanted)) read.add(name);
      const h = await resolver.loadHierarchy(opts.hierarchy, {
        ...(fetchKeys ? { keys: wanted } : {}),
        ...(opts.allowReferences ? { allowReferences: opts.allowReferences } : {}),
        checkReference: recordReferences(read),
      });
      for (const name of [...h.parameterNames(), ...h.ignored]) read.add(name);
      for (const e of h.entries.values()) {
        addSources(read, e.references);
        values.set(e.key, e.value);
        const { value: _value, ...described } = e;
        sources.set(e.key, {
          key: e.key,
          secret: e.secret,
          from: 'hierarchy',
          source: e.origin.parameter,
          entry: described,
          version: String(e.origin.version),
        });
      }
    } catch (err) {
      const failed = issuesOf(err, '(hierarchy)');
      addIssueSources(read, failed);
      issues.push(...failed);
    }
  }

  if (opts.sealedFile) await loadSealedFile(opts.sealedFile, resolver, values, sources, issues, read);

  const refs: Record<string, string> = Object.assign(Object.create(null), opts.references);
  const environment = opts.environment ?? process.env;
  for (const [key, variable] of Object.entries(opts.env ?? {})) {
    const v = environment[variable];
    if (v !== undefined) refs[key] = v;
  }
  const refEntries = Object.entries(refs);
  const settled = await Promise.allSettled(refEntries.map(([k, v]) => resolveTracked(resolver, k, v, read)));
  settled.forEach((s, i) => {
    const [key, input] = refEntries[i]!;
    const fromEnv = opts.env && Object.hasOwn(opts.env, key) && environment[opts.env[key]!] === input;
    if (s.status === 'rejected') {
      const failed = issuesOf(s.reason, key, fromEnv ? opts.env![key] : undefined);
      addIssueSources(read, failed);
      issues.push(...failed);
      return;
    }
    const r: Resolved = s.value;
    addSources(read, r.sources);
    override(values, key, r.value);
    const first = r.sources[0];
    sources.set(key, {
      key,
      secret: r.secret,
      from: fromEnv ? 'env' : 'reference',
      source: fromEnv ? opts.env![key]! : (first?.id ?? 'literal'),
      ...(first?.reference ? { reference: first.reference } : {}),
      ...(first?.version ? { version: first.version } : {}),
    });
  });
  // keys from every source (sealed file, references, env) that name object internals: refused, never dropped
  for (const key of values.keys()) {
    const unsafe = unsafeKeySegment(key);
    if (unsafe !== undefined) {
      issues.push({
        code: 'INVALID_INPUT',
        key: shortName(key),
        ...(sources.get(key) ? { source: shortName(sources.get(key)!.source) } : {}),
        message: `key ${shortName(key)} has the segment "${unsafe}", which Strata refuses (it names a JavaScript object internal)`,
      });
    }
  }
  if (issues.length > 0) throw loadFailed(issues);

  const { tree, pathOf } = placeKeys(values, keys);
  const parsed = await opts.schema.safeParseAsync(tree);
  if (!parsed.success) {
    const byPath = new Map([...pathOf].map(([src, target]) => [target, src]));
    // zod's own messages do not quote input, but a schema's custom messages may: withhold any that
    // quotes a secret value (8 characters of it, or all of a shorter one)
    const secretTexts = [...sources]
      .filter(([, src]) => src.secret)
      .map(([k]) => values.get(k))
      .filter((v): v is string => typeof v === 'string' && v.length >= 4);
    const quotesSecret = (m: string) =>
      secretTexts.some((v) => {
        if (v.length < 8) return m.includes(v);
        for (let i = 0; i + 8 <= v.length; i++) if (m.includes(v.slice(i, i + 8))) return true;
        return false;
      });
    for (const zi of parsed.error.issues) {
      const path = zi.path.map(String).join('.');
      const srcKey = byPath.get(path);
      const src = srcKey ? sources.get(srcKey) : undefined;
      const missing = srcKey === undefined && zi.code === 'invalid_type';
      issues.push({
        code: missing ? 'NOT_FOUND' : 'VALIDATION',
        key: path || '(root)',
        ...(src
          ? { source: src.source }
          : opts.hierarchy && missing
            ? { source: 'not found at any level' }
            : {}),
        message: quotesSecret(zi.message)
          ? `invalid value (${zi.code}; the schema's message quoted a secret and is withheld)`
          : missing
            ? `missing (${zi.message})`
            : zi.message,
      });
    }
    throw loadFailed(issues);
  }
  const secretPaths = new Set<string>();
  for (const [srcKey, s] of sources) if (s.secret) secretPaths.add(pathOf.get(srcKey) ?? srcKey);
  const remapped = new Map<string, KeySource>();
  for (const [srcKey, s] of sources) remapped.set(pathOf.get(srcKey) ?? srcKey, s);
  return { config: freezeMasked(parsed.data, secretPaths), sources: remapped, secretPaths };
}

let sealModule: Promise<typeof import('./seal.js')> | undefined;

/**
 * The sealed-file reader (and with it `yaml`), imported on first use, not with the loader: a
 * process without a sealed file never loads it. A failed import is an UNAVAILABLE error naming the
 * module, and is tried again on the next load.
 */
function loadSeal(): Promise<typeof import('./seal.js')> {
  sealModule ??= import('./seal.js').catch((err: unknown) => {
    sealModule = undefined;
    throw new StrataError('UNAVAILABLE', 'loader: the sealed-file reader (module yaml) could not be loaded', {
      source: 'yaml',
      cause: err,
    });
  });
  return sealModule;
}

/** Adds a sealed file's keys (resolving its references) to `values`, overriding the hierarchy. */
async function loadSealedFile(
  file: string,
  resolver: Resolver,
  values: Map<string, unknown>,
  sources: Map<string, KeySource>,
  issues: Issue[],
  read: Set<string>,
): Promise<void> {
  let entries: Map<string, SealedValue>;
  try {
    entries = (await loadSeal()).readSealedFile(file);
  } catch (err) {
    issues.push(...issuesOf(err, '(sealed file)', file));
    return;
  }
  const resolveOne = async (key: string, v: SealedValue): Promise<{ value: unknown; secret: boolean }> => {
    if (typeof v === 'string') {
      const r = await resolveTracked(resolver, key, v, read);
      addSources(read, r.sources);
      return { value: r.value, secret: r.secret };
    }
    if (Array.isArray(v)) {
      const items = await Promise.all(v.map((item) => resolveOne(key, item)));
      return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    return { value: v, secret: false };
  };
  const list = [...entries];
  const settled = await Promise.allSettled(list.map(([k, v]) => resolveOne(k, v)));
  settled.forEach((s, i) => {
    const key = list[i]![0];
    if (s.status === 'rejected') {
      const failed = issuesOf(s.reason, key, file);
      addIssueSources(read, failed);
      issues.push(...failed);
      return;
    }
    override(values, key, s.value.value);
    sources.set(key, { key, secret: s.value.secret, from: 'sealed-file', source: file });
  });
}

/** Loads typed config once; the result is deeply frozen and masks secrets when logged. */
export async function loadConfig<S extends z.ZodType>(opts: ConfigOptions<S>): Promise<z.infer<S>> {
  return (await loadConfigDetailed(opts)).config;
}
