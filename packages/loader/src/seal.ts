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
 * Nulls, and strings that already contain a `<<resolve:…>>` reference, are left as they are (so
 * sealing twice only seals new values). Numbers and booleans are sealed as their text and come back
 * as strings. Keys are never sealed. YAML comments, order and layout are kept; JSON stays JSON.
 */
import { readFileSync } from 'node:fs';
import { type EncryptMode, type KmsCrypto, kmsReference, parseTemplate, StrataError } from '@strata/core';
import { isMap, isScalar, isSeq, type Node, parseDocument, type Scalar } from 'yaml';

export const DEFAULT_SECRET_KEY_PATTERN = /(password|secret|token|key|credential)/i;

/** `!secret value`: marks a value to seal; reads as the plain string. */
const SECRET_TAG = { tag: '!secret', resolve: (s: string) => s };

export interface SealOptions {
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

export interface SealResult {
  text: string;
  /** Dotted paths sealed (or unsealed). Never values. */
  paths: string[];
}

interface Leaf {
  path: string[];
  node: Scalar;
}

function parse(text: string, origin: string) {
  const doc = parseDocument(text, { customTags: [SECRET_TAG], keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new StrataError(
      'INVALID_INPUT',
      `${origin}: not valid YAML/JSON: ${doc.errors[0]!.message.split('\n')[0]}`,
      {
        source: origin,
      },
    );
  }
  return doc;
}

function leaves(node: unknown, path: string[] = [], out: Leaf[] = []): Leaf[] {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      leaves(pair.value, [...path, k], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      leaves(item, [...path, String(i)], out);
    });
  } else if (isScalar(node)) out.push({ path, node });
  return out;
}

const isJson = (text: string) => /^\s*[[{]/.test(text);
const dotted = (path: string[]) => path.join('.');

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
  const todo = leaves(doc.contents).filter(({ path, node }) => {
    if (node.value === null || node.value === undefined) return false;
    if (typeof node.value === 'string' && node.value.includes('<<resolve:')) return false;
    if (node.tag === '!secret') return true;
    return pattern !== false && path.some((seg) => pattern.test(seg));
  });
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
  const todo = leaves(doc.contents).flatMap((l) => {
    const ref = typeof l.node.value === 'string' ? wholeKmsReference(l.node.value) : undefined;
    return ref ? [{ ...l, ref }] : [];
  });
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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new StrataError('INVALID_INPUT', `sealed file ${path} not found or not readable`, { source: path });
  }
  const doc = parse(text, path);
  const out = new Map<string, SealedValue>();
  const walk = (node: Node | null | undefined | unknown, prefix: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        walk(pair.value, [...prefix, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
      }
    } else if (isSeq(node) && node.items.every((i) => isScalar(i))) {
      out.set(
        dotted(prefix),
        node.items.map((i) => (i as Scalar).value as SealedValue),
      );
    } else if (isSeq(node)) {
      node.items.forEach((i, n) => {
        walk(i, [...prefix, String(n)]);
      });
    } else if (isScalar(node) && prefix.length > 0) {
      out.set(dotted(prefix), node.value as SealedValue);
    }
  };
  walk(doc.contents, []);
  return out;
}
