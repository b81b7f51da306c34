// MCP over stdio: one client, one session, for the life of the process.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { LineLimit, MAX_LINE_BYTES } from "../line-limit.js";
import { log } from "../log.js";
import { createServer, type ServerDeps } from "../server.js";
import { deletionsInFlight, drainDeletions } from "../tools/in-flight.js";

/** How long a shutdown waits for deletions in flight. */
const SHUTDOWN_GRACE_MS = 5_000;

/** `summary`: one line on what the server talks to and how, for stderr. */
export async function serveStdio(deps: ServerDeps, summary: string): Promise<void> {
  const server = createServer(deps);

  // The protocol layer reports what it cannot handle (malformed lines, unknown message types) here;
  // the SDK would otherwise drop it silently. Capped: the offending line may be huge.
  server.server.onerror = (error) => log.warn(`protocol error (ignored): ${error.message.replace(/\s+/g, " ").slice(0, 300)}`);

  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    // Never hang on shutdown, whatever happens below.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 2_000).unref();
    const running = deletionsInFlight();
    log.info(
      `shutting down (${reason})${running > 0 ? `: waiting up to ${SHUTDOWN_GRACE_MS / 1000} s for ${running} deletion(s) in flight` : ""}`,
    );
    // A deletion cut off mid-flight would leave its outcome unknown: let it finish and be reported.
    const left = await drainDeletions(SHUTDOWN_GRACE_MS);
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

  // Oversized lines are cut short before the SDK's reader sees them: it would close the connection.
  const input = process.stdin.pipe(
    new LineLimit(MAX_LINE_BYTES, (bytes) =>
      log.warn(`ignored an incoming message of ${bytes} bytes: larger than ${MAX_LINE_BYTES} bytes, it cannot be a valid request`),
    ),
  );
  await server.connect(new StdioServerTransport(input, process.stdout));
  log.info(`ready on stdio: ${summary}`);
}
