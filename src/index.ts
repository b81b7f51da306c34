#!/usr/bin/env node
// Entry point: read flags and configuration, then serve MCP over stdio (default) or Streamable HTTP.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileAuditTrail, NO_AUDIT } from "./audit.js";
import { type Config, ConfigError, credentialsOf, endpointWarnings, loadConfig } from "./config.js";
import { withEnvFile } from "./env-files.js";
import { log, registerSecret, setLogLevel, writeStderr } from "./log.js";
import { lazyApi, retrySettingsOf, type ServerDeps } from "./server.js";
import { serveStdio } from "./transports/stdio.js";
import { describeEndpoint } from "./vcc/errors.js";

const HELP = `vcc-interaction-content-mcp: an MCP server that deletes Vonage Contact Center interaction
content only after a person confirms.

Usage: vcc-interaction-content-mcp [--sandbox] [--read-only] [--http [--port <n>] [--host <addr>]]
                                   [--env-file <path>] [--help] [--version]

  (no flags)     serve MCP over stdio: the MCP client starts this process
  --sandbox      try it safely: a local simulator with sample data, no credentials needed
                 (VCC_SANDBOX=true)
  --read-only    do not offer the delete tools at all (VCC_READ_ONLY=true)
  --http         serve MCP Streamable HTTP at http://<host>:<port>/mcp (or VCC_TRANSPORT=http)
  --port <n>     HTTP port, 0 for a free one (VCC_HTTP_PORT, default 3333)
  --host <addr>  address to bind (VCC_HTTP_HOST, default 127.0.0.1); any non-loopback address
                 requires VCC_HTTP_BEARER
  --env-file <path>  read settings from this file too (VCC_ENV_FILE); the environment wins

Configuration comes from the environment, or a file named with --env-file or VCC_ENV_FILE.
A .env found in the working directory supplies credentials only (VCC_CLIENT_ID,
VCC_CLIENT_SECRET, VCC_ACCESS_TOKEN); nothing else in it is used. Variables:
  VCC_CLIENT_ID and VCC_CLIENT_SECRET (recommended) or VCC_ACCESS_TOKEN, VCC_SCOPES,
  VCC_REGION (emea|nam|apac), VCC_API_BASE_URL, VCC_AUTH_URL, VCC_CONFIRMATION
  (auto|elicitation|token|approval), VCC_CONFIRMATION_TTL_SECONDS, VCC_ELICITATION_TIMEOUT_SECONDS,
  VCC_APPROVAL_PORT, VCC_TIMEOUT_MS, VCC_MAX_RETRIES, VCC_DEADLINE_MS, VCC_RETRY_BASE_MS,
  VCC_LOG_LEVEL, VCC_AUDIT_LOG, VCC_READ_ONLY, VCC_DRY_RUN, VCC_SHUTDOWN_GRACE_SECONDS,
  VCC_ALLOWED_CONTENT_KEYS, VCC_SANDBOX, and for HTTP: VCC_HTTP_BEARER,
  VCC_HTTP_SESSION_IDLE_SECONDS, VCC_HTTP_MAX_SESSIONS, VCC_HTTP_SESSIONS_PER_MINUTE,
  VCC_HTTP_ALLOWED_HOSTS. See the README for details.
`;

const NAME = "vcc-interaction-content-mcp";

async function main(): Promise<void> {
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
    flags = parseArgs({
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
    }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    writeStderr(`${NAME}: ${unknown ? `unknown option ${unknown}` : message.split(". ")[0]} (try --help)\n`);
    process.exitCode = 2;
    return;
  }
  // Asked for, before any protocol starts: these go to stdout.
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  if (flags.version) {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
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
  registerSecret(config.accessToken);
  registerSecret(config.clientSecret);
  registerSecret(config.http.bearer);
  setLogLevel(config.logLevel);
  for (const warning of [...envFileWarnings, ...endpointWarnings(config)]) log.warn(warning);
  const credentials = credentialsOf(config);
  if (credentials.kind === "static" && (config.clientId || config.clientSecret))
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
  const deps: ServerDeps = {
    config,
    api: sandbox ? sandbox.sandboxApi(config.timeoutMs, retrySettingsOf(config)) : lazyApi(config),
    audit: config.auditLogPath ? fileAuditTrail(config.auditLogPath) : NO_AUDIT,
    ...(sandbox ? { sandboxInstructions: sandbox.SANDBOX_INSTRUCTIONS } : {}),
  };
  const summary = describe(config, credentials.kind);

  // Load only the transport in use: the HTTP module is never loaded by a stdio server.
  if (config.transport === "http") await (await import("./transports/http.js")).serveHttp(deps, summary);
  else await serveStdio(deps, summary);
  if (sandbox)
    log.warn("SANDBOX MODE: using a local simulator with sample data on 127.0.0.1; no real host is contacted and nothing real is deleted.");
}

/** One line for stderr at start: where requests go, how deletions are confirmed, which modes are on. */
function describe(config: Config, credentials: ReturnType<typeof credentialsOf>["kind"]): string {
  if (config.sandbox) return `SANDBOX (local simulator), confirmation ${config.confirmation}`;
  const auth =
    credentials === "client_credentials"
      ? `client credentials via ${describeEndpoint(config.authUrl)}`
      : credentials === "static"
        ? "static access token"
        : "no credentials configured yet: tool calls will say what to set";
  const modes = `${config.readOnly ? ", READ-ONLY" : ""}${config.dryRun ? ", DRY RUN (nothing is deleted)" : ""}${config.auditLogPath ? `, audit log ${config.auditLogPath}` : ""}`;
  return `API ${config.apiBaseUrl}, confirmation ${config.confirmation}${modes}, auth: ${auth}`;
}

main().catch((error: unknown) => {
  log.error("fatal error at start", { error });
  process.exit(1);
});
