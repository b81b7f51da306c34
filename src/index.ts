#!/usr/bin/env node
// Entry point: decide from the flags and the configuration what to do (src/cli.ts), then serve MCP
// over stdio (default) or Streamable HTTP, or run the passkey command.
import { readFileSync } from "node:fs";
import { auditLogProblem, fileAuditTrail, NO_AUDIT } from "./audit.js";
import { decideStartup } from "./cli.js";
import { type Config, credentialsOf, endpointWarnings, secretValues } from "./config.js";
import { jobServiceFor } from "./jobs/service.js";
import { atClose } from "./lifecycle.js";
import { captureConsole, log, registerSecret, setLogLevel, writeStderr } from "./log.js";
import { lazyApi, type ServerDeps } from "./server.js";
import { openSharedState, type SharedState } from "./state/index.js";
import { serveStdio } from "./transports/stdio.js";
import { describeEndpoint } from "./vcc/errors.js";

/** Waits (at most a few seconds) for a freshly opened shared state to answer; a command then reports what it could not do. */
async function untilAnswering(state: SharedState): Promise<void> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    try {
      return await state.ping();
    } catch {
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function main(): Promise<void> {
  const version = () => (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  const startup = decideStartup(process.argv.slice(2), process.env, process.cwd(), version);
  if (startup.kind === "exit") {
    if (startup.stdout) process.stdout.write(startup.stdout);
    if (startup.stderr) writeStderr(startup.stderr);
    process.exitCode = startup.code;
    return;
  }
  const { config } = startup;
  if (startup.kind === "passkey") {
    // A command the person runs in a terminal: it prints to stdout, and it never serves MCP.
    const { runPasskeyCommand } = await import("./confirmation/passkey-cli.js");
    const { dataDirOf } = await import("./data-dir.js");
    // With VCC_STATE_URL the passkeys are the replicas' shared ones (the server reads the same).
    const shared = config.state.url ? await openSharedState({ url: config.state.url, prefix: config.state.keyPrefix }) : undefined;
    try {
      if (shared) await untilAnswering(shared);
      const { sharedLocation, sharedPasskeys } = await import("./confirmation/passkeys.js");
      process.exitCode = await runPasskeyCommand(startup.args, {
        dataDir: dataDirOf(config),
        ...(shared?.passkeys ? { passkeys: sharedPasskeys(shared.passkeys, sharedLocation(config.state.keyPrefix)) } : {}),
        out: (text) => process.stdout.write(text),
        err: (text) => writeStderr(text),
      });
    } finally {
      await shared?.close();
    }
    return;
  }
  const auditProblem = config.audit.logPath ? await auditLogProblem(config.audit.logPath) : undefined;
  if (auditProblem) {
    writeStderr(`vcc-interaction-content-mcp: configuration error: ${auditProblem}\n`);
    process.exitCode = 1;
    return;
  }
  for (const secret of secretValues(config)) registerSecret(secret);
  setLogLevel(config.log.level);
  captureConsole();
  for (const warning of [...startup.envFileWarnings, ...endpointWarnings(config)]) log.warn(warning);
  const credentials = credentialsOf(config);
  if (credentials.kind === "static" && !config.sandbox && (config.api.clientId || config.api.clientSecret))
    log.warn(
      "VCC_ACCESS_TOKEN is set, so VCC_CLIENT_ID / VCC_CLIENT_SECRET are ignored and the token will not be renewed; remove VCC_ACCESS_TOKEN to use the client credentials.",
    );

  // Logging never throws and drops lines once stderr is gone (see log.ts), so these handlers cannot
  // feed themselves into a loop.
  process.on("uncaughtException", (error) => log.error("uncaught exception (continuing)", { error }));
  process.on("unhandledRejection", (reason) => log.error("unhandled rejection (continuing)", { reason }));

  // server.js, audit.js and the stdio transport are imported statically: every start needs them, and
  // in the bundle each import() is a file of its own to load (see docs/benchmarks.md). What only
  // some starts need stays behind import(): the sandbox, the HTTP transport.
  const sandbox = config.sandbox ? await import("./sandbox.js") : undefined;
  // Replicas share their state in Redis (issue 22); the client library is loaded only then.
  const state = config.state.url ? await openSharedState({ url: config.state.url, prefix: config.state.keyPrefix }) : undefined;
  const deps: ServerDeps = {
    config,
    api: sandbox ? sandbox.sandboxApi(config.api.timeoutMs, config.api.retry, state) : lazyApi(config, {}, state),
    audit: config.audit.logPath ? fileAuditTrail(config.audit.logPath) : NO_AUDIT,
    ...(sandbox ? { sandboxInstructions: sandbox.SANDBOX_INSTRUCTIONS } : {}),
    ...(state ? { state } : {}),
  };
  // Passkeys left in the data directory are not the replicas' (docs/replicas.md): say so once Redis answers.
  const sharedPasskeyRecords = state?.passkeys;
  if (state && sharedPasskeyRecords && config.confirmation.passkey === "required")
    void untilAnswering(state)
      .then(() => import("./confirmation/passkeys.js"))
      .then(({ unsharedPasskeysWarning }) => unsharedPasskeysWarning(config, sharedPasskeyRecords))
      .then((warning) => warning && log.warn(warning))
      .catch(() => {});
  // Closed last at shutdown: after the sessions ended and the job service released its leases.
  if (state) atClose(() => state.close());
  if (state)
    // Every replica runs the erasure job sweeper: it takes over jobs whose replica died.
    jobServiceFor({ config, api: deps.api, audit: deps.audit, state }).catch((error: unknown) =>
      log.error("the erasure jobs could not be opened", { error }),
    );
  const summary = describe(config, credentials);

  // Load only the transport in use: the HTTP module is never loaded by a stdio server.
  if (config.transport === "http") await (await import("./transports/http.js")).serveHttp(deps, summary);
  else await serveStdio(deps, summary);
  if (sandbox)
    log.warn("SANDBOX MODE: using a local simulator with sample data on 127.0.0.1; no real host is contacted and nothing real is deleted.");
}

/** One line for stderr at start: where requests go, how deletions are confirmed, which modes are on. */
function describe(config: Config, credentials: ReturnType<typeof credentialsOf>): string {
  if (config.sandbox) return `SANDBOX (local simulator), confirmation ${config.confirmation.mode}`;
  const auth =
    credentials.kind === "client_credentials"
      ? `client credentials via ${describeEndpoint(config.api.authUrl)}`
      : credentials.kind === "static"
        ? "static access token"
        : config.api.clientId || config.api.clientSecret
          ? `incomplete: ${credentials.message}`
          : "no credentials configured yet: tool calls will say what to set";
  const modes = `${config.controls.readOnly ? ", READ-ONLY" : ""}${config.controls.dryRun ? ", DRY RUN (nothing is deleted)" : ""}${config.audit.logPath ? `, audit log ${config.audit.logPath}` : ""}`;
  return `API ${config.api.baseUrl}, confirmation ${config.confirmation.mode}${modes}, auth: ${auth}`;
}

main().catch((error: unknown) => {
  log.error("fatal error at start", { error });
  process.exit(1);
});
