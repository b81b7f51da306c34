// Preloaded with NODE_OPTIONS=--import=<this file>: appends the URL of every module the process
// loads to the file named by RECORD_LOADS_TO, one per line, so a test can tell what was loaded when.
import { register } from "node:module";

register("./record-loads-hooks.mjs", import.meta.url, { data: process.env.RECORD_LOADS_TO });
