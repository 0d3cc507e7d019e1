/**
 * Canaries for the secrecy tests (issue 9): a unique, high-entropy value seeded in a secret source,
 * and the check that no 8-character piece of it appears in what a person or a log collector sees.
 */
import { randomBytes } from 'node:crypto';

/** A fresh alphanumeric canary (`Cy` + 16 random characters). */
export function canary(): string {
  return `Cy${randomBytes(12)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'q')}`;
}

/** Every 8-character substring of each canary that occurs in `text` (empty: no leak). */
export function leaks(text: string, canaries: readonly string[]): string[] {
  const found: string[] = [];
  for (const c of canaries) {
    for (let i = 0; i + 8 <= c.length; i++)
      if (text.includes(c.slice(i, i + 8))) found.push(c.slice(i, i + 8));
  }
  return found;
}
