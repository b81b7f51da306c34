// Bundles the shipped server with esbuild (run by `npm run build`, after tsc has type-checked and
// emitted dist/). MCP clients spawn the server on every launch, so start-up time and memory matter:
// 7 files at start instead of a few hundred from node_modules starts in about half the time.
//
//   dist/index.js        the `bin`: turns on Node's compile cache (Node 22.1+), then imports bundle.js
//   dist/bundle.js       src/index.ts; with the shared chunks it imports, everything needed to
//                        answer `initialize` and `tools/list`
//   dist/chunks/*.js     those shared chunks, and what only some calls or modes need, loaded on first
//                        use: the HTTP client with undici and auth (first tool call), the sandbox's
//                        simulator, the HTTP transport
//
// dist/bundle.js sits beside tsc's output so that paths relative to import.meta.url (../package.json
// for --version) mean the same in both. The other files tsc emits (dist/simulator/, ...) are not
// used by the bin. Measurements: docs/benchmarks.md.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * zod's `z.locales` namespace holds the error messages of ~50 languages (~360 kB, a quarter of the
 * code parsed at start). English, the default, is imported by zod itself and stays; the others are
 * only used after an explicit `z.config(z.locales.xx())`, which this server never makes.
 */
const englishOnlyZodLocales = {
  name: "english-only-zod-locales",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: fileURLToPath(new URL(".", pathToFileURL(args.path))),
    }));
  },
};

const SIMPLEWEBAUTHN = "@simplewebauthn/server";
/** The attestation verifiers and the helper that read X.509 certificates (with their ASN.1 and DI libraries). */
const CERTIFICATE_MODULES =
  /[\\/]@simplewebauthn[\\/]server[\\/]esm[\\/](registration[\\/]verifications[\\/](tpm[\\/])?verifyAttestation\w+|helpers[\\/](convertX509PublicKeyToCOSE|getCertificateInfo|isCertRevoked|validateCertificatePath)|metadata[\\/]verifyMDSBlob)\.js$/;

/**
 * Passkeys (src/confirmation/webauthn.ts) use three functions of @simplewebauthn/server, and accept
 * only attestation format "none" (they ask for no attestation; webauthn.ts refuses any other format).
 * The package's index also loads its metadata service, and its attestation verifiers load an X.509
 * stack (~450 kB) that "none" never needs. So the bundle takes the three functions from their own
 * modules, and the certificate-reading modules become stubs that refuse, as webauthn.ts would. The
 * ASN.1 stack that remains only reads ECDSA signatures: scripts/ecdsa-der.mjs does that instead.
 */
const passkeyFunctionsOnly = {
  name: "passkey-functions-only",
  setup(b) {
    b.onResolve({ filter: /^@simplewebauthn\/server$/ }, () => ({ path: SIMPLEWEBAUTHN, namespace: "simplewebauthn" }));
    b.onLoad({ filter: /.*/, namespace: "simplewebauthn" }, () => {
      const esm = join(root, "node_modules/@simplewebauthn/server/esm");
      return {
        contents: [
          `export { generateRegistrationOptions } from ${JSON.stringify(join(esm, "registration/generateRegistrationOptions.js"))};`,
          `export { verifyRegistrationResponse } from ${JSON.stringify(join(esm, "registration/verifyRegistrationResponse.js"))};`,
          `export { verifyAuthenticationResponse } from ${JSON.stringify(join(esm, "authentication/verifyAuthenticationResponse.js"))};`,
        ].join("\n"),
        resolveDir: esm,
      };
    });
    // unwrapEC2Signature.js reads ECDSA signatures with an ASN.1 stack; a strict DER reader does the same.
    b.onResolve({ filter: /^@peculiar\/asn1-(schema|ecc)$/ }, (args) =>
      /unwrapEC2Signature\.js$/.test(args.importer) ? { path: join(root, "scripts/ecdsa-der.mjs") } : undefined,
    );
    b.onLoad({ filter: CERTIFICATE_MODULES }, (args) => {
      const name = /(\w+)\.js$/.exec(args.path)[1];
      return {
        contents: `export function ${name}() { throw new Error("only attestation format none is accepted"); }`,
        loader: "js",
      };
    });
  },
};

/**
 * The API client (src/vcc/) uses two things of undici: `Pool` and `request`. Its index also loads
 * fetch, WebSocket, EventSource, the caches (with SQLite), the mocks and the proxy agents (~180 kB
 * of the bundle, none of it reachable from this server). The bundle takes the two from their own
 * modules, set up as undici's index sets them up: the request API on Dispatcher's prototype, and
 * `request` called on the global dispatcher (what the index's `request` does for a URL string and
 * options without `path`, `agent` or `dispatcher`: the only way src/vcc/auth.ts calls it).
 */
const undiciPoolAndRequest = {
  name: "undici-pool-and-request",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: "undici", namespace: "undici-parts" }));
    b.onLoad({ filter: /.*/, namespace: "undici-parts" }, () => ({
      contents: [
        "'use strict'",
        "const Dispatcher = require('./lib/dispatcher/dispatcher')",
        "const api = require('./lib/api')",
        "Object.assign(Dispatcher.prototype, api)",
        "const { getGlobalDispatcher } = require('./lib/global')",
        "module.exports.Pool = require('./lib/dispatcher/pool')",
        "module.exports.request = (url, opts) => {",
        "  const u = new URL(url)",
        "  return api.request.call(getGlobalDispatcher(), { ...opts, origin: u.origin, path: u.pathname + u.search, method: opts.method || (opts.body ? 'PUT' : 'GET') })",
        "}",
      ].join("\n"),
      resolveDir: join(root, "node_modules/undici"),
      loader: "js",
    }));
  },
};

/**
 * The SDK's Server imports its default JSON Schema validator (Ajv with its formats, ~540 kB) to check
 * elicitation answers when given no other. This server always gives its own checker of its flat forms
 * (src/confirmation/form-answers.ts), so the Server's import becomes a stub that refuses to be used,
 * and Ajv is not in the bundle at all.
 */
const noDefaultAjv = {
  name: "no-default-ajv",
  setup(b) {
    b.onResolve({ filter: /[\\/]validation[\\/]ajv-provider\.js$/ }, (args) =>
      /[\\/]@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/]server[\\/]index\.js$/.test(args.importer)
        ? { path: "ajv-provider-stub", namespace: "ajv-stub" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "ajv-stub" }, () => ({
      contents: [
        "export class AjvJsonSchemaValidator {",
        '  constructor() { throw new Error("the SDK default JSON Schema validator is not bundled: pass jsonSchemaValidator"); }',
        "}",
      ].join("\n"),
      loader: "js",
    }));
  },
};

const REQUIRE_SHIM = 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);';
/** `require` as a free identifier: not `__require`, `x.require`, nor the start of a string (ajv has 'require("…")' texts). */
const USES_REQUIRE = /(?<![\w$.'"`])require(?![\w$])/;

/** The esbuild options of the shipped bundle. */
export function bundleOptions(overrides = {}) {
  return {
    absWorkingDir: root,
    entryPoints: { index: "scripts/bin.mjs", bundle: "src/index.ts" },
    outdir: "dist",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Bundled CommonJS (dotenv, ajv, undici) calls require() for Node built-ins; ESM has none of its
    // own. Kept only in the files that use it (see bundle()).
    banner: { js: REQUIRE_SHIM },
    // Less to read and parse at start; names are kept so that stack traces in logs stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    // Maps are written for debugging here; the package does not ship them, so its files name none.
    sourcemap: "external",
    sourcesContent: false,
    plugins: [englishOnlyZodLocales, passkeyFunctionsOnly, undiciPoolAndRequest, noDefaultAjv],
    logLevel: "warning",
    ...overrides,
  };
}

/**
 * Builds and writes the bundle; resolves to esbuild's metafile. The require() shim is blanked (its
 * line kept, so that source maps stay right) in every file that does not use it: each createRequire()
 * costs Node's path helpers work at start, and enough of it makes V8 compile them with its optimizing
 * compiler before `initialize`, which pages in megabytes of compiler code (see docs/benchmarks.md).
 */
export async function bundle(overrides = {}) {
  const result = await build(bundleOptions({ ...overrides, write: false, metafile: true }));
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path.endsWith(".js") && text.includes(REQUIRE_SHIM) && !USES_REQUIRE.test(text.replace(REQUIRE_SHIM, "")))
      text = text.replace(REQUIRE_SHIM, "");
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, text);
    if (text.startsWith("#!")) chmodSync(file.path, 0o755);
  }
  return result.metafile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Chunk names carry a content hash: remove the previous build's so that none is left behind.
  rmSync(join(root, "dist/chunks"), { recursive: true, force: true });
  await bundle();
}
