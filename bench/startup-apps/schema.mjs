// The typed config both start-up apps validate: the 200 keys of the core benchmark's tree
// (`/acme` g00–g19, `/acme/shop` s00–s59, `/acme/shop/dev` db|cache|api|queue|feature|log × k00–k19).
import { z } from 'zod';

const pad = (n) => String(n).padStart(2, '0');
export const GROUPS = ['db', 'cache', 'api', 'queue', 'feature', 'log'];
export const LEVELS = ['/acme', '/acme/shop', '/acme/shop/dev'];

const str = () => z.string().min(1);
const shape = {};
for (let i = 0; i < 20; i++) shape[`g${pad(i)}`] = str();
for (let i = 0; i < 60; i++) shape[`s${pad(i)}`] = str();
for (const g of GROUPS)
  shape[g] = z.object(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${pad(i)}`, str()])));
export const schema = z.object(shape);

/** The 200 full parameter names with the key each one fills (what a Powertools app writes out by hand). */
export const NAMES = [
  ...Array.from({ length: 20 }, (_, i) => [`/acme/g${pad(i)}`, [`g${pad(i)}`]]),
  ...Array.from({ length: 60 }, (_, i) => [`/acme/shop/s${pad(i)}`, [`s${pad(i)}`]]),
  ...GROUPS.flatMap((g) =>
    Array.from({ length: 20 }, (_, i) => [`/acme/shop/dev/${g}/k${pad(i)}`, [g, `k${pad(i)}`]]),
  ),
];

/** Counts the leaves of a config object. */
export function leaves(o) {
  return o !== null && typeof o === 'object' ? Object.values(o).reduce((n, v) => n + leaves(v), 0) : 1;
}
