/** YAML/JSON text to plain data for the local backend, with errors that never quote the text. */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { describeParseError, StrataError } from '../errors.js';

let yamlModule: typeof Yaml | undefined;

/**
 * The `yaml` module, loaded on first use, not when Strata is imported: a process that never reads
 * a YAML file never loads it. It is loaded synchronously (`yaml` is CommonJS under Node, the same
 * module `import 'yaml'` gives), so `parseYamlText` stays synchronous. A failed load is an
 * UNAVAILABLE error naming the module, and is tried again on the next call.
 */
export function yamlLib(): typeof Yaml {
  if (yamlModule) return yamlModule;
  try {
    yamlModule = createRequire(import.meta.url)('yaml') as typeof Yaml;
  } catch (err) {
    throw new StrataError('UNAVAILABLE', 'local: the module yaml could not be loaded', {
      source: 'yaml',
      cause: err,
    });
  }
  return yamlModule;
}

/**
 * Parses YAML (or JSON) text into plain data, linear in its size. A mapping key given twice is an
 * INVALID_INPUT error naming the key and its line (yaml's own check of this is quadratic). Error
 * messages never quote the text.
 */
export function parseYamlText(text: string, origin: string): unknown {
  const { isScalar, LineCounter, parseDocument, visit } = yamlLib();
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
export function toPlain(doc: Yaml.Document, origin: string): unknown {
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
