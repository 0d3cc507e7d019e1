/** Small helpers shared by the hierarchy modules: names in messages, refused key segments. */
import { StrataError } from '../errors.js';

/**
 * Key segments that name JavaScript object internals. A parameter, a JSON key or a file key spelled
 * like this could alter object prototypes (`Object.prototype.polluted`) wherever a tree is built
 * with plain assignment, and zod drops `__proto__` silently: every load refuses them with a clear
 * INVALID_INPUT naming the parameter or key.
 */
export const UNSAFE_KEY_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first unsafe segment of a dotted key or a parameter path (`a.__proto__.b`, `/a/constructor`), or undefined. */
export function unsafeKeySegment(key: string): string | undefined {
  return key.split(/[./]/).find((s) => UNSAFE_KEY_SEGMENTS.has(s));
}

/** Text for a message: at most `max` characters of a name, then `…`. */
export function shortName(name: string, max = 120): string {
  return name.length > max ? `${name.slice(0, max)}…` : name;
}

/** An INVALID_INPUT error naming `source`. */
export function invalid(message: string, source?: string): StrataError {
  return new StrataError('INVALID_INPUT', message, source === undefined ? {} : { source });
}
