// A Node app that loads its typed config at start-up with @strata/loader, configured only by the
// standard AWS environment (AWS_REGION, AWS_ENDPOINT_URL, credentials). `node strata-app.mjs`;
// STARTUP_MODE=discover loads the hierarchy without schema keys (sharded discovery),
// STARTUP_MODE=import stops after the imports. Prints one JSON line when the config is ready.
import { loadConfig } from '@strata/loader';
import { LEVELS, leaves, schema } from './schema.mjs';

const imported = performance.now();
if (process.env.STARTUP_MODE === 'import') {
  process.stdout.write(`${JSON.stringify({ imported, ready: imported, keys: 0 })}\n`);
} else {
  const config = await loadConfig({
    schema,
    hierarchy: { levels: LEVELS },
    ...(process.env.STARTUP_MODE === 'discover' ? { fetchSchemaKeys: false } : {}),
  });
  process.stdout.write(`${JSON.stringify({ imported, ready: performance.now(), keys: leaves(config) })}\n`);
}
