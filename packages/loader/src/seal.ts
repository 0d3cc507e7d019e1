/**
 * Sealed config files: a YAML/JSON config a team can commit, whose secret values are replaced by
 * `<<resolve:kms:…>>` references (`strata seal`), read back by the loader (`loadConfig({ sealedFile })`)
 * or restored (`strata unseal`).
 *
 * Which values are secret:
 * - a value tagged `!secret` (YAML: `password: !secret hunter2`); the tag stays on the sealed value
 *   so `unseal` then `seal` round-trips;
 * - a value whose path has a key matching the pattern (default
 *   `/(password|secret|token|key|credential)/i`, on any segment: `db.password`, `apiKey`,
 *   `secrets.slack`, every item of `tokens: [...]`).
 * `!secret` on a mapping or a sequence marks every value below it. A secret value reached through a
 * YAML alias (`password: *pw`) is sealed where its anchor is (`&pw`), so no copy of the plaintext
 * stays in the file. Nulls, and strings made only of `<<resolve:…>>` references, are left as they
 * are (so sealing twice only seals new values); a secret string that mixes a reference with literal
 * text (`<<resolve:ssm:/x>>hunter2`) is sealed whole: its plaintext is resolved again on load.
 * Numbers and booleans are sealed as their text and come back as strings. Keys are never sealed.
 * YAML comments, order and layout are kept; JSON stays JSON.
 */

import {
  describeParseError,
  type EncryptMode,
  type KmsCrypto,
  kmsReference,
  parseTemplate,
  StrataError,
} from '@strata/core';
import { isAlias, isMap, isScalar, isSeq, type Node, parseDocument, type Scalar, visit } from 'yaml';
import { readFileChecked } from './read-file.js';

const DEFAULT_SECRET_KEY_PATTERN = /(password|secret|token|key|credential)/i;

/** `!secret value`: marks a value to seal; reads as the plain string. */
const SECRET_TAG = { tag: '!secret', resolve: (s: string) => s };

interface SealOptions {
  /** The KMS key to encrypt under. */
  keyId: string;
  /** Encryption context for every value (also written into each reference). */
  context?: Record<string, string>;
  /** Secret key pattern, or `false` to seal only `!secret` values. */
  pattern?: RegExp | false;
  /**
   * `envelope` (default): every value of one run shares one cached data key, so loading the file
   * costs one KMS Decrypt however many secrets it holds. `raw`/`auto`: KMS Encrypt per value
   * (shorter text, one Decrypt per value on load).
   */
  mode?: EncryptMode;
}

interface SealResult {
  text: string;
  /** Dotted paths sealed (or unsealed). Never values. */
  paths: string[];
}

interface Leaf {
  path: string[];
  node: Scalar;
  /** Under a `!secret` collection. */
  tagged: boolean;
}

function parse(text: string, origin: string) {
  const doc = parseDocument(text, { customTags: [SECRET_TAG], keepSourceTokens: false, logLevel: 'error' });
  if (doc.errors.length > 0) {
    // the position, never the parser's excerpt of the text (it may be a secret)
    throw new StrataError(
      'INVALID_INPUT',
      `${origin}: not valid YAML/JSON ${describeParseError(doc.errors[0])}`,
      {
        source: origin,
      },
    );
  }
  // an alias without its anchor would throw (quoting its name) when the document is printed
  let unresolved: { range?: [number, number, number] } | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        unresolved = node as { range?: [number, number, number] };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (unresolved) {
    const offset = unresolved.range?.[0] ?? 0;
    const line = text.slice(0, offset).split('\n').length;
    throw new StrataError(
      'INVALID_INPUT',
      `${origin}: not valid YAML/JSON at line ${line} (an alias without its anchor)`,
      {
        source: origin,
      },
    );
  }
  return doc;
}

type Doc = ReturnType<typeof parse>;

/**
 * Every scalar leaf with its path, following aliases (a leaf reached through an alias is the
 * anchored node itself, listed once per path). `tagged`: below a `!secret` mapping or sequence.
 */
function leaves(
  doc: Doc,
  node: unknown,
  path: string[] = [],
  out: Leaf[] = [],
  tagged = false,
  seen = new Set<unknown>(),
): Leaf[] {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target !== undefined && !seen.has(target)) leaves(doc, target, path, out, tagged, seen);
    return out;
  }
  if (isMap(node) || isSeq(node)) {
    if (seen.has(node)) return out; // a recursive alias
    const below = tagged || node.tag === '!secret';
    const inner = new Set(seen).add(node);
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        leaves(doc, pair.value, [...path, k], out, below, inner);
      }
    } else {
      node.items.forEach((item, i) => {
        leaves(doc, item, [...path, String(i)], out, below, inner);
      });
    }
  } else if (isScalar(node)) out.push({ path, node, tagged });
  return out;
}

const isJson = (text: string) => /^\s*[[{]/.test(text);
const dotted = (path: string[]) => path.join('.');

/** True when a string is made only of references (nothing literal to seal). */
function onlyReferences(value: string): boolean {
  try {
    const parts = parseTemplate(value);
    return parts.length > 0 && parts.every((p) => p.kind === 'ref');
  } catch {
    return false;
  }
}

/** The one kms reference a string consists of, or undefined. */
function wholeKmsReference(
  value: string,
): { ciphertext: string; context?: Record<string, string> } | undefined {
  try {
    const parts = parseTemplate(value);
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only?.kind === 'ref' && only.ref.service === 'kms') return only.ref;
  } catch {
    /* not a reference */
  }
  return undefined;
}

function render(doc: ReturnType<typeof parse>, json: boolean): string {
  return json ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString({ lineWidth: 0 });
}

/** Replaces each secret value of a YAML/JSON text with a kms reference. */
export async function sealText(
  text: string,
  crypto: KmsCrypto,
  opts: SealOptions,
  origin = 'input',
): Promise<SealResult> {
  const doc = parse(text, origin);
  const pattern = opts.pattern === undefined ? DEFAULT_SECRET_KEY_PATTERN : opts.pattern;
  const isSecret = ({ path, node, tagged }: Leaf) =>
    tagged || node.tag === '!secret' || (pattern !== false && path.some((seg) => pattern.test(seg)));
  // one node may be reached by several paths (aliases): sealed once if any path makes it secret
  const byNode = new Map<Scalar, Leaf>();
  for (const leaf of leaves(doc, doc.contents)) {
    if (!isSecret(leaf)) continue;
    if (leaf.node.value === null || leaf.node.value === undefined) continue;
    if (typeof leaf.node.value === 'string' && onlyReferences(leaf.node.value)) continue;
    if (!byNode.has(leaf.node)) byNode.set(leaf.node, leaf);
  }
  const todo = [...byNode.values()];
  await Promise.all(
    todo.map(async ({ node }) => {
      const plain = String(node.value);
      const out = await crypto.encrypt(plain, {
        keyId: opts.keyId,
        mode: opts.mode ?? 'envelope',
        ...(opts.context ? { context: opts.context } : {}),
      });
      // the node keeps its style; the printer quotes where plain would not parse (flow sequences)
      node.value = kmsReference(out.ciphertext, opts.context);
    }),
  );
  return { text: render(doc, isJson(text)), paths: todo.map((l) => dotted(l.path)) };
}

/** Replaces each value that is a kms reference with its plaintext. */
export async function unsealText(text: string, crypto: KmsCrypto, origin = 'input'): Promise<SealResult> {
  const doc = parse(text, origin);
  const todo = leaves(doc, doc.contents)
    .flatMap((l) => {
      const ref = typeof l.node.value === 'string' ? wholeKmsReference(l.node.value) : undefined;
      return ref ? [{ ...l, ref }] : [];
    })
    .filter((l, i, all) => all.findIndex((o) => o.node === l.node) === i);
  const failures: string[] = [];
  await Promise.all(
    todo.map(async ({ node, ref, path }) => {
      try {
        const out = await crypto.decrypt(ref.ciphertext, ref.context ? { context: ref.context } : {});
        node.value = out.plaintext.toString('utf8');
        out.plaintext.fill(0);
        node.type = 'QUOTE_DOUBLE';
      } catch (err) {
        failures.push(`${dotted(path)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );
  if (failures.length > 0) {
    throw new StrataError(
      'DECRYPT_FAILED',
      `${origin}: ${failures.length} value(s) could not be unsealed:\n- ${failures.join('\n- ')}`,
      {
        source: origin,
      },
    );
  }
  return { text: render(doc, isJson(text)), paths: todo.map((l) => dotted(l.path)) };
}

export type SealedValue = string | number | boolean | null | SealedValue[];

/**
 * The leaves of a sealed file as dotted keys (`db.password`), for the loader: strings (which may
 * be references) and other scalars; a sequence of scalars is one leaf (an array).
 */
export function readSealedFile(path: string): Map<string, SealedValue> {
  const text = readFileChecked(path, 'sealed file').toString('utf8');
  const doc = parse(text, path);
  const out = new Map<string, SealedValue>();
  const walk = (node: Node | null | undefined | unknown, prefix: string[], depth = 0): void => {
    if (isAlias(node)) {
      // an alias reads as its anchored value (bounded: a recursive alias is not followed forever)
      if (depth < 64) walk(node.resolve(doc), prefix, depth + 1);
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        walk(pair.value, [...prefix, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)], depth);
      }
    } else if (isSeq(node) && node.items.every((i) => isScalar(i) || isAlias(i))) {
      out.set(
        dotted(prefix),
        node.items.map((i) => {
          const n = isAlias(i) ? i.resolve(doc) : i;
          return (isScalar(n) ? n.value : null) as SealedValue;
        }),
      );
    } else if (isSeq(node)) {
      node.items.forEach((i, n) => {
        walk(i, [...prefix, String(n)], depth);
      });
    } else if (isScalar(node) && prefix.length > 0) {
      out.set(dotted(prefix), node.value as SealedValue);
    }
  };
  walk(doc.contents, []);
  return out;
}
