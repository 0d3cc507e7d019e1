#!/usr/bin/env node
// The operator executable: start, and stop gracefully on SIGTERM/SIGINT.
import { operatorFromEnv } from './main.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const operator = operatorFromEnv();
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    operator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
await operator.start();
