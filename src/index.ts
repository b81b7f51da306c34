#!/usr/bin/env node
// Entry point: read flags and configuration, then serve MCP over stdio.
import { readFileSync } from "node:fs";
import { type Config, ConfigError, credentialsOf, loadConfig } from "./config.js";
import { log, registerSecret, setLogLevel } from "./log.js";
import { describeEndpoint } from "./vcc/errors.js";

const HELP = `vcc-interaction-content-mcp: an MCP server (stdio) that deletes Vonage Contact Center
interaction content only after a person confirms.

Usage: vcc-interaction-content-mcp [--sandbox] [--read-only] [--help] [--version]

  --sandbox     try it safely: a local simulator with sample data, no credentials needed
                (same as VCC_SANDBOX=true)
  --read-only   do not offer the delete tool at all (same as VCC_READ_ONLY=true)

Configuration comes from the environment or a .env file in the working directory:
  VCC_CLIENT_ID and VCC_CLIENT_SECRET (recommended) or VCC_ACCESS_TOKEN, VCC_SCOPES,
  VCC_REGION (emea|nam|apac), VCC_API_BASE_URL, VCC_AUTH_URL, VCC_CONFIRMATION
  (auto|elicitation|token), VCC_CONFIRMATION_TTL_SECONDS, VCC_ELICITATION_TIMEOUT_SECONDS,
  VCC_TIMEOUT_MS, VCC_LOG_LEVEL, VCC_AUDIT_LOG, VCC_READ_ONLY, VCC_DRY_RUN,
  VCC_ALLOWED_CONTENT_KEYS, VCC_SANDBOX. See the README for details.
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stderr.write(HELP);
    return;
  }
  if (args.includes("--version")) {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    process.stderr.write(`${pkg.version}\n`);
    return;
  }
  // Flags that mirror environment variables; the flag wins.
  const flagEnv: Record<string, string> = {};
  if (args.includes("--read-only")) flagEnv.VCC_READ_ONLY = "true";
  if (args.includes("--sandbox")) flagEnv.VCC_SANDBOX = "true";
  const unknown = args.filter((a) => a.startsWith("-") && a !== "--read-only" && a !== "--sandbox");
  if (unknown.length > 0) {
    process.stderr.write(`vcc-interaction-content-mcp: unknown option ${unknown[0]} (try --help)\n`);
    process.exitCode = 2;
    return;
  }

  // .env is optional; quiet and never in debug mode, because stdout is the protocol.
  const { config: loadDotenv } = await import("dotenv");
  loadDotenv({ quiet: true, debug: false });

  let config: Config;
  try {
    config = loadConfig({ ...process.env, ...flagEnv });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`vcc-interaction-content-mcp: configuration error: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  registerSecret(config.accessToken);
  registerSecret(config.clientSecret);
  setLogLevel(config.logLevel);
  const credentials = credentialsOf(config);
  if (credentials.kind === "static" && (config.clientId || config.clientSecret))
    log.warn(
      "VCC_ACCESS_TOKEN is set, so VCC_CLIENT_ID / VCC_CLIENT_SECRET are ignored and the token will not be renewed; remove VCC_ACCESS_TOKEN to use the client credentials.",
    );

  const [{ createServer, lazyApi }, { StdioServerTransport }, { fileAuditTrail, NO_AUDIT }] = await Promise.all([
    import("./server.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("./audit.js"),
  ]);
  const audit = config.auditLogPath ? fileAuditTrail(config.auditLogPath) : NO_AUDIT;
  const sandbox = config.sandbox ? await import("./sandbox.js") : undefined;
  const server = createServer({
    config,
    api: sandbox ? sandbox.sandboxApi(config.timeoutMs) : lazyApi(config),
    audit,
    ...(sandbox ? { sandboxInstructions: sandbox.SANDBOX_INSTRUCTIONS } : {}),
  });

  let closing = false;
  const shutdown = (reason: string) => {
    if (closing) return;
    closing = true;
    log.info(`shutting down (${reason})`);
    void server.close().finally(() => process.exit(0));
    // Never hang on shutdown: an in-flight request must not keep the process alive for long.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.on("uncaughtException", (error) => log.error("uncaught exception (continuing)", { error }));
  process.on("unhandledRejection", (reason) => log.error("unhandled rejection (continuing)", { reason }));

  await server.connect(new StdioServerTransport());
  if (sandbox) {
    log.warn("SANDBOX MODE: using a local simulator with sample data on 127.0.0.1; no real host is contacted and nothing real is deleted.");
    return;
  }
  const auth =
    credentials.kind === "client_credentials"
      ? `client credentials via ${describeEndpoint(config.authUrl)}`
      : credentials.kind === "static"
        ? "static access token"
        : "no credentials configured yet: tool calls will say what to set";
  const modes = `${config.readOnly ? ", READ-ONLY" : ""}${config.dryRun ? ", DRY RUN (nothing is deleted)" : ""}${config.auditLogPath ? `, audit log ${config.auditLogPath}` : ""}`;
  log.info(`ready on stdio: API ${config.apiBaseUrl}, confirmation ${config.confirmation}${modes}, auth: ${auth}`);
}

main().catch((error: unknown) => {
  log.error("fatal error at start", { error });
  process.exit(1);
});
