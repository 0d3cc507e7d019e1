// The same app written with Powertools for AWS Lambda's parameters utility and zod by hand: the
// 200 parameter names written out, `getParametersByName` (decrypt), the object built, then
// `schema.parse`. Configured only by the standard AWS environment. STARTUP_MODE=import stops after
// the imports. Prints one JSON line when the config is ready.
import { getParametersByName } from '@aws-lambda-powertools/parameters/ssm';
import { leaves, NAMES, schema } from './schema.mjs';

const imported = performance.now();
if (process.env.STARTUP_MODE === 'import') {
  process.stdout.write(`${JSON.stringify({ imported, ready: imported, keys: 0 })}\n`);
} else {
  const values = await getParametersByName(Object.fromEntries(NAMES.map(([n]) => [n, {}])), {
    decrypt: true,
    throwOnError: true,
  });
  const obj = {};
  for (const [name, path] of NAMES) {
    if (path.length === 1) obj[path[0]] = values[name];
    else {
      obj[path[0]] ??= {};
      obj[path[0]][path[1]] = values[name];
    }
  }
  const config = schema.parse(obj);
  process.stdout.write(`${JSON.stringify({ imported, ready: performance.now(), keys: leaves(config) })}\n`);
}
