#!/usr/bin/env node
// The `strata` executable: all logic lives in main.ts (no work at import time there).
import { main } from './main.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await main(process.argv);
