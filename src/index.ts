#!/usr/bin/env node
// Entry point: read flags and configuration, then serve MCP over stdio (default) or Streamable HTTP.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileAuditTrail, NO_AUDIT } from "./audit.js";
import { type Config, ConfigError, configReference, credentialsOf, endpointWarnings, loadConfig, secretValues } from "./config.js";
import { IMPLICIT_ENV_FILE_VARIABLES, withEnvFile } from "./env-files.js";
import { jobServiceFor } from "./jobs/service.js";
import { atClose } from "./lifecycle.js";
import { log, registerSecret, setLogLevel, writeStderr } from "./log.js";
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

const USAGE = `vcc-interaction-content-mcp: an MCP server that deletes Vonage Contact Center interaction
content only after a person confirms.

Usage: vcc-interaction-content-mcp [--sandbox] [--read-only] [--http [--port <n>] [--host <addr>]]
                                   [--env-file <path>] [--help] [--version]
       vcc-interaction-content-mcp passkey add | list | remove <id>   [--env-file <path>]

  (no flags)     serve MCP over stdio: the MCP client starts this process
  --sandbox      try it safely: a local simulator with sample data, no credentials needed
                 (VCC_SANDBOX=true)
  --read-only    do not offer the delete tools at all (VCC_READ_ONLY=true)
  --http         serve MCP Streamable HTTP at http://<host>:<port>/mcp (or VCC_TRANSPORT=http)
  --port <n>     HTTP port, 0 for a free one (VCC_HTTP_PORT, default 3333)
  --host <addr>  address to bind (VCC_HTTP_HOST, default 127.0.0.1); any non-loopback address
                 requires VCC_HTTP_BEARER (one private user) or VCC_HTTP_AUTH=oauth (team server)
  --env-file <path>  read settings from this file too (VCC_ENV_FILE); the environment wins
  passkey ...    manage the passkeys that approve deletions (VCC_APPROVAL_PASSKEY=required):
                 add prints a one-time link to register one in a browser on this computer

Configuration comes from the environment, or a file named with --env-file or VCC_ENV_FILE.
A .env found in the working directory supplies credentials only (${IMPLICIT_ENV_FILE_VARIABLES.join(", ")});
nothing else in it is used. Empty variables count as unset. Variables, by who uses them:
`;

/** The usage, then every variable of the configuration schema (so the list cannot drift from it). */
function helpText(width = 100): string {
  const reference = configReference();
  const column = Math.max(...reference.map((v) => v.name.length)) + 4;
  const lines: string[] = [];
  let group = "";
  for (const v of reference) {
    if (v.group !== group) {
      group = v.group;
      lines.push(`  ${group}:`);
    }
    const notes = [
      v.default !== undefined ? `default: ${v.default}` : v.defaultNote !== undefined ? `default: ${v.defaultNote}` : undefined,
      v.flag,
      v.secret ? "secret" : undefined,
    ].filter(Boolean);
    const text = `${v.description}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
    const wrapped = wrap(text, width - column);
    lines.push(...wrapped.map((line, i) => `${i === 0 ? `    ${v.name}`.padEnd(column + 2) : " ".repeat(column + 2)}${line}`));
  }
  return `${USAGE}${lines.join("\n")}\nDetails: docs/configuration.md in the project's repository.\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const NAME = "vcc-interaction-content-mcp";

async function main(): Promise<void> {
  let positionals: string[];
  let flags: {
    help?: boolean;
    version?: boolean;
    http?: boolean;
    sandbox?: boolean;
    "read-only"?: boolean;
    port?: string;
    host?: string;
    "env-file"?: string;
  };
  try {
    ({ values: flags, positionals } = parseArgs({
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        http: { type: "boolean" },
        sandbox: { type: "boolean" },
        "read-only": { type: "boolean" },
        port: { type: "string" },
        host: { type: "string" },
        "env-file": { type: "string" },
      },
      allowPositionals: true,
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    writeStderr(`${NAME}: ${unknown ? `unknown option ${unknown}` : message.split(". ")[0]} (try --help)\n`);
    process.exitCode = 2;
    return;
  }
  // Asked for, before any protocol starts: these go to stdout.
  if (flags.help) {
    process.stdout.write(helpText());
    return;
  }
  if (flags.version) {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }

  const [command, ...commandArgs] = positionals;
  if (command !== undefined && command !== "passkey") {
    writeStderr(`${NAME}: unknown command '${command}' (try --help)\n`);
    process.exitCode = 2;
    return;
  }

  // Flags win over the environment; config.ts validates both in one place.
  const overrides: Record<string, string> = {};
  if (flags.http) overrides.VCC_TRANSPORT = "http";
  if (flags.sandbox) overrides.VCC_SANDBOX = "true";
  if (flags["read-only"]) overrides.VCC_READ_ONLY = "true";
  if (flags.port !== undefined) overrides.VCC_HTTP_PORT = flags.port;
  if (flags.host !== undefined) overrides.VCC_HTTP_HOST = flags.host;
  let config: Config;
  let envFileWarnings: string[];
  try {
    const { env, warnings } = withEnvFile(process.env, { envFile: flags["env-file"], cwd: process.cwd() });
    envFileWarnings = warnings;
    config = loadConfig({ ...env, ...overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      writeStderr(`${NAME}: configuration error: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  if ((flags.port !== undefined || flags.host !== undefined) && config.transport !== "http") {
    writeStderr(`${NAME}: --port and --host apply to the HTTP transport: add --http (try --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (command === "passkey") {
    // A command the person runs in a terminal: it prints to stdout, and it never serves MCP.
    const { runPasskeyCommand } = await import("./confirmation/passkey-cli.js");
    const { dataDirOf } = await import("./data-dir.js");
    // With VCC_STATE_URL the passkeys are the replicas' shared ones (the server reads the same).
    const shared = config.state.url ? await openSharedState({ url: config.state.url, prefix: config.state.keyPrefix }) : undefined;
    try {
      if (shared) await untilAnswering(shared);
      const { sharedLocation, sharedPasskeys } = await import("./confirmation/passkeys.js");
      process.exitCode = await runPasskeyCommand(commandArgs, {
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
  for (const secret of secretValues(config)) registerSecret(secret);
  setLogLevel(config.log.level);
  for (const warning of [...envFileWarnings, ...endpointWarnings(config)]) log.warn(warning);
  const credentials = credentialsOf(config);
  if (credentials.kind === "static" && (config.api.clientId || config.api.clientSecret))
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
  const summary = describe(config, credentials.kind);

  // Load only the transport in use: the HTTP module is never loaded by a stdio server.
  if (config.transport === "http") await (await import("./transports/http.js")).serveHttp(deps, summary);
  else await serveStdio(deps, summary);
  if (sandbox)
    log.warn("SANDBOX MODE: using a local simulator with sample data on 127.0.0.1; no real host is contacted and nothing real is deleted.");
}

/** One line for stderr at start: where requests go, how deletions are confirmed, which modes are on. */
function describe(config: Config, credentials: ReturnType<typeof credentialsOf>["kind"]): string {
  if (config.sandbox) return `SANDBOX (local simulator), confirmation ${config.confirmation.mode}`;
  const auth =
    credentials === "client_credentials"
      ? `client credentials via ${describeEndpoint(config.api.authUrl)}`
      : credentials === "static"
        ? "static access token"
        : "no credentials configured yet: tool calls will say what to set";
  const modes = `${config.controls.readOnly ? ", READ-ONLY" : ""}${config.controls.dryRun ? ", DRY RUN (nothing is deleted)" : ""}${config.audit.logPath ? `, audit log ${config.audit.logPath}` : ""}`;
  return `API ${config.api.baseUrl}, confirmation ${config.confirmation.mode}${modes}, auth: ${auth}`;
}

main().catch((error: unknown) => {
  log.error("fatal error at start", { error });
  process.exit(1);
});
