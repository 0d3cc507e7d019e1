#!/usr/bin/env node
// The CLI's entry (started by ../../bin/strata.js): all logic lives in main.ts (no work at import
// time there).
import { main } from './main.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const code = await main(process.argv);
process.exitCode = code;
// Exit now that the work is done, even if something still holds the event loop (a socket AWS
// never answered): once stdout and stderr are flushed, with the documented code.
const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
setTimeout(() => process.exit(code), 100).unref();
