#!/usr/bin/env node
// The shipped entry (dist/index.js after `npm run build`): switch on Node's compile cache, where the
// runtime has one (Node 22.1+), before the server's code is parsed; then start the server.
import module from "node:module";

try {
  module.enableCompileCache?.();
} catch {
  // A cache that cannot be used (e.g. a read-only temp directory) only costs speed.
}
await import("../src/index.ts");
