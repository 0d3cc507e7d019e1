/**
 * References: `<<resolve:…>>` in a string resolved to values, recursing through references inside
 * fetched values up to `maxDepth`, with cycles reported by their chain. A `guard` (the hierarchy's
 * no-leak rule, the operator's grants) is asked about every reference at any depth before it is
 * fetched.
 */
import { type Issue, loadFailed, StrataError } from '../errors.js';
import { shortName } from '../hierarchy/names.js';
import {
  formatReference,
  hasReference,
  type ParseOrigin,
  parseTemplate,
  type Reference,
  referenceKey,
} from '../reference/parser.js';
import { toIssue } from './issues.js';
import type { SourceReader } from './sources.js';
import type { Resolved, SourceInfo } from './types.js';

/** How text being resolved is treated: where it came from (for errors), and which references it may hold. */
export interface ResolveContext {
  /** Set for text read from a source: parse errors name it and echo nothing. */
  origin?: ParseOrigin;
  /** Throws for a reference the text may not hold (the hierarchy's no-leak rule). */
  guard?: (ref: Reference) => void;
}

export interface ResolveMapOptions {
  /** Checked for every reference, at any depth (see `LoadHierarchyOptions.checkReference`). */
  checkReference?: (ref: Reference) => string | undefined;
}

export class References {
  constructor(
    private readonly reader: SourceReader,
    private readonly maxDepth: number,
  ) {}

  /** Resolves one reference to its value (recursing through references inside that value). */
  async resolveReference(ref: Reference, chain: string[] = []): Promise<Resolved> {
    return this.resolveRef(ref, chain, {});
  }

  private async resolveRef(ref: Reference, chain: string[], ctx: ResolveContext): Promise<Resolved> {
    ctx.guard?.(ref);
    const printed = formatReference(ref);
    const id = referenceKey(ref);
    if (chain.includes(id)) {
      const names = [...chain.slice(chain.indexOf(id)), id];
      throw new StrataError('CYCLE', `reference cycle: ${names.join(' -> ')}`, {
        source: printed,
        chain: names,
      });
    }
    const own = await this.fetchReference(ref, printed);
    if (!hasReference(own.value)) return own;
    // The value is itself a reference: one more hop. Fetching a plain value is not a level.
    const origin = valueOrigin(ref, own);
    if (chain.length >= this.maxDepth) {
      const next = parseTemplate(own.value, { origin }).flatMap((p) =>
        p.kind === 'ref' ? [referenceKey(p.ref)] : [],
      );
      const names = [...chain, id, ...next.slice(0, 1)];
      throw new StrataError(
        'DEPTH_EXCEEDED',
        `references nest deeper than ${this.maxDepth}: ${names.join(' -> ')}`,
        { source: printed, chain: names },
      );
    }
    const inner = await this.resolveIn(own.value, [...chain, id], {
      ...(ctx.guard ? { guard: ctx.guard } : {}),
      origin,
    });
    return {
      value: inner.value,
      secret: own.secret || inner.secret,
      sources: [...own.sources, ...inner.sources],
    };
  }

  private async fetchReference(ref: Reference, printed: string): Promise<Resolved> {
    switch (ref.service) {
      case 'ssm': {
        const rec = await this.reader.getParameter({
          name: ref.name,
          ...(ref.version !== undefined ? { version: ref.version } : {}),
          ...(ref.label !== undefined ? { label: ref.label } : {}),
        });
        if (ref.secure && rec.type !== 'SecureString') {
          throw new StrataError(
            'TYPE_MISMATCH',
            `${printed}: ssm-secure needs a SecureString, but ${rec.name} is a ${rec.type}`,
            {
              source: printed,
            },
          );
        }
        return {
          value: rec.value,
          secret: rec.type === 'SecureString' || rec.fromSecretsManager === true,
          sources: [{ service: 'ssm', id: rec.name, reference: printed, version: String(rec.version) }],
        };
      }
      case 'secretsmanager': {
        const rec = await this.reader.getSecret({
          secretId: ref.secretId,
          ...(ref.versionStage ? { versionStage: ref.versionStage } : {}),
          ...(ref.versionId ? { versionId: ref.versionId } : {}),
        });
        const raw =
          rec.secretString ?? (rec.secretBinary ? Buffer.from(rec.secretBinary).toString('base64') : '');
        const value =
          ref.jsonKey === undefined ? raw : extractJsonKey(raw, ref.jsonKey, ref.secretId, printed);
        return {
          value,
          secret: true,
          sources: [{ service: 'secretsmanager', id: rec.name, reference: printed, version: rec.versionId }],
        };
      }
      case 'kms': {
        const value = await this.reader.decrypt(ref.ciphertext, ref.context);
        return { value, secret: true, sources: [{ service: 'kms', id: 'kms', reference: printed }] };
      }
      default:
        throw new StrataError('INVALID_INPUT', `${printed}: unsupported reference`, { source: printed });
    }
  }

  /** Resolves every reference in a string (`postgres://u:<<resolve:…>>@h/db`). */
  async resolveTemplate(input: string, chain: string[] = []): Promise<Resolved> {
    return this.resolveIn(input, chain, {});
  }

  async resolveIn(input: string, chain: string[], ctx: ResolveContext): Promise<Resolved> {
    const parts = parseTemplate(input, ctx.origin ? { origin: ctx.origin } : {});
    const resolved = await Promise.all(
      parts.map(async (p) =>
        p.kind === 'text'
          ? { value: p.text, secret: false, sources: [] as SourceInfo[] }
          : this.resolveRef(p.ref, chain, ctx),
      ),
    );
    return {
      value: resolved.map((r) => r.value).join(''),
      secret: resolved.some((r) => r.secret),
      sources: resolved.flatMap((r) => r.sources),
    };
  }

  /**
   * Resolves a map of strings that may contain references. Fails with one LOAD_FAILED error
   * listing every key that failed (never a value).
   */
  async resolveMap(
    inputs: Record<string, string>,
    opts: ResolveMapOptions = {},
  ): Promise<Record<string, Resolved>> {
    const entries = Object.entries(inputs);
    const check = opts.checkReference;
    const guard = check
      ? (ref: Reference): void => {
          const problem = check(ref);
          if (problem) throw new StrataError('REFERENCE_DENIED', problem, { source: referenceSource(ref) });
        }
      : undefined;
    const settled = await Promise.allSettled(
      entries.map(([, v]) => this.resolveIn(v, [], guard ? { guard } : {})),
    );
    const issues: Issue[] = [];
    // null prototype: a key named `__proto__` stays an own entry
    const out: Record<string, Resolved> = Object.create(null);
    settled.forEach((s, i) => {
      const key = entries[i]![0];
      if (s.status === 'fulfilled') out[key] = s.value;
      else issues.push(toIssue(s.reason, key));
    });
    if (issues.length > 0) throw loadFailed(issues, 'resolving references');
    return out;
  }
}

/** Reads `key` (or a dotted path `a.b`) from a JSON secret. Non-string values are JSON-encoded. */
export function extractJsonKey(raw: string, jsonKey: string, secretId: string, printed: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new StrataError(
      'VALIDATION',
      `${printed}: secret ${secretId} is not a JSON object, so it has no key '${jsonKey}'`,
      {
        source: printed,
      },
    );
  }
  const pick = (obj: unknown, k: string): unknown =>
    obj !== null && typeof obj === 'object' && Object.hasOwn(obj, k)
      ? (obj as Record<string, unknown>)[k]
      : undefined;
  let v = pick(doc, jsonKey);
  if (v === undefined && jsonKey.includes('.')) {
    v = jsonKey.split('.').reduce<unknown>((o, k) => pick(o, k), doc);
  }
  if (v === undefined) {
    throw new StrataError('NOT_FOUND', `${printed}: JSON key '${jsonKey}' not found in secret ${secretId}`, {
      source: printed,
    });
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** How to name a fetched value in an error about its text (never the text itself). */
function valueOrigin(ref: Reference, own: Resolved): ParseOrigin {
  const src = own.sources[0];
  if (ref.service === 'ssm') {
    const name = src?.id ?? ref.name;
    return { what: `the value of ssm parameter ${shortName(name)}`, source: name };
  }
  if (ref.service === 'secretsmanager') {
    const key = ref.jsonKey === undefined ? '' : ` (JSON key ${shortName(ref.jsonKey, 40)})`;
    return { what: `the value of secret ${shortName(ref.secretId)}${key}`, source: ref.secretId };
  }
  return { what: 'the plaintext of a kms reference', source: 'kms' };
}

/** The parameter name or secret id a reference names (for an error's `source`). */
export function referenceSource(ref: Reference): string {
  if (ref.service === 'ssm') return ref.name;
  if (ref.service === 'secretsmanager') return ref.secretId;
  return 'kms';
}
