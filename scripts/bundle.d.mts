// Types of scripts/bundle.mjs, for the tests that build the bundle.
import type { BuildOptions, Metafile } from "esbuild";

export function bundleOptions(overrides?: BuildOptions): BuildOptions;
export function bundle(overrides?: BuildOptions): Promise<Metafile>;
