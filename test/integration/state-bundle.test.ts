// The Redis implementation of the shared state is loaded only when VCC_STATE_URL is set: built with
// the shipped bundle's options, the client library is a chunk of its own, reached only through a
// dynamic import, and it runs from the bundle without node_modules.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle } from "../../scripts/bundle.mjs";
import type { openSharedState as OpenSharedState } from "../../src/state/index.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

let dir: string;
let metafile: Metafile;
let redis: RedisServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vcc-state-bundle-"));
  metafile = await bundle({ entryPoints: { state: "src/state/index.ts" }, outdir: join(dir, "dist"), logLevel: "silent" });
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const isClient = (input: string) => input.includes("node_modules/ioredis/");

it("keeps the Redis client out of what loads at start, in a chunk reached only by a dynamic import", () => {
  const outputs = Object.entries(metafile.outputs).filter(([path]) => path.endsWith(".js"));
  const entry = outputs.find(([, output]) => output.entryPoint === "src/state/index.ts");
  if (!entry) throw new Error("no entry output");
  const staticFiles = new Set<string>([entry[0]]);
  // Everything the entry loads statically, transitively.
  for (const path of staticFiles)
    for (const dep of metafile.outputs[path]?.imports ?? [])
      if (dep.kind === "import-statement" && !dep.external) staticFiles.add(dep.path);
  for (const path of staticFiles) expect(Object.keys(metafile.outputs[path]?.inputs ?? {}).some(isClient), basename(path)).toBe(false);
  const withClient = outputs.filter(([, output]) => Object.keys(output.inputs).some(isClient)).map(([path]) => path);
  expect(withClient).toHaveLength(1);
  expect(entry[1].imports.some((dep) => dep.kind === "dynamic-import")).toBe(true);
});

it("opens the Redis state from the bundle, without node_modules", async () => {
  const built = (await import(pathToFileURL(join(dir, "dist/state.js")).href)) as { openSharedState: typeof OpenSharedState };
  const state = await built.openSharedState({ url: redis.url, prefix: "bundle:" });
  try {
    expect(state.kind).toBe("redis");
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await state.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    await state.tokens.issue("tok-bundle", { binding: "b", owner: "o", ttlMs: 60_000 });
    expect((await state.tokens.claim("tok-bundle", "b", "o")).ok).toBe(true);
  } finally {
    await state.close();
  }
});
