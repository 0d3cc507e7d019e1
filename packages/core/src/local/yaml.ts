/** YAML/JSON text to plain data for the local backend, with errors that never quote the text. */
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { describeParseError, StrataError } from '../errors.js';

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
export function toPlain(doc: ReturnType<typeof parseDocument>, origin: string): unknown {
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
