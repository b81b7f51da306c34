#!/usr/bin/env node
// Entry point: read flags and configuration, then serve MCP over stdio.
import { readFileSync } from "node:fs";
import { type Config, ConfigError, credentialsOf, loadConfig } from "./config.js";
import { LineLimit, MAX_LINE_BYTES } from "./line-limit.js";
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
  VCC_TIMEOUT_MS, VCC_MAX_RETRIES, VCC_DEADLINE_MS, VCC_RETRY_BASE_MS, VCC_LOG_LEVEL,
  VCC_AUDIT_LOG, VCC_READ_ONLY, VCC_DRY_RUN, VCC_ALLOWED_CONTENT_KEYS, VCC_SANDBOX.
  See the README for details.
`;

/** How long a shutdown waits for deletions in flight. */
const SHUTDOWN_GRACE_MS = 5_000;

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

  const [{ createServer, lazyApi, retrySettingsOf }, { StdioServerTransport }, { fileAuditTrail, NO_AUDIT }, inFlight] = await Promise.all([
    import("./server.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("./audit.js"),
    import("./tools/in-flight.js"),
  ]);
  const audit = config.auditLogPath ? fileAuditTrail(config.auditLogPath) : NO_AUDIT;
  const sandbox = config.sandbox ? await import("./sandbox.js") : undefined;
  const server = createServer({
    config,
    api: sandbox ? sandbox.sandboxApi(config.timeoutMs, retrySettingsOf(config)) : lazyApi(config),
    audit,
    ...(sandbox ? { sandboxInstructions: sandbox.SANDBOX_INSTRUCTIONS } : {}),
  });

  // The protocol layer reports what it cannot handle (malformed lines, unknown message types) here;
  // the SDK would otherwise drop it silently. Capped: the offending line may be huge.
  server.server.onerror = (error) => log.warn(`protocol error (ignored): ${error.message.replace(/\s+/g, " ").slice(0, 300)}`);

  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    // Never hang on shutdown, whatever happens below.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 2_000).unref();
    const running = inFlight.deletionsInFlight();
    log.info(
      `shutting down (${reason})${running > 0 ? `: waiting up to ${SHUTDOWN_GRACE_MS / 1000} s for ${running} deletion(s) in flight` : ""}`,
    );
    // A deletion cut off mid-flight would leave its outcome unknown: let it finish and be reported.
    const left = await inFlight.drainDeletions(SHUTDOWN_GRACE_MS);
    if (left > 0)
      log.warn(`exiting with ${left} deletion(s) still in flight: their outcome is unknown; check with list_interaction_content`);
    // Let the last results reach stdout before the transport closes.
    await new Promise((resolve) => setImmediate(resolve));
    await server.close().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.stdin.on("end", () => void shutdown("stdin closed"));
  process.on("uncaughtException", (error) => log.error("uncaught exception (continuing)", { error }));
  process.on("unhandledRejection", (reason) => log.error("unhandled rejection (continuing)", { reason }));

  // Oversized lines are cut short before the SDK's reader sees them: it would close the connection.
  const input = process.stdin.pipe(
    new LineLimit(MAX_LINE_BYTES, (bytes) =>
      log.warn(`ignored an incoming message of ${bytes} bytes: larger than ${MAX_LINE_BYTES} bytes, it cannot be a valid request`),
    ),
  );
  await server.connect(new StdioServerTransport(input, process.stdout));
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
