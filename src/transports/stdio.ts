// MCP over stdio: one client, one session, for the life of the process.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { handleShutdown } from "../lifecycle.js";
import { LineLimit, MAX_LINE_BYTES } from "../line-limit.js";
import { log } from "../log.js";
import { createServer, type ServerDeps } from "../server.js";

/** How long a shutdown waits for deletions in flight, unless VCC_SHUTDOWN_GRACE_SECONDS says otherwise. */
const SHUTDOWN_GRACE_MS = 5_000;

/** `summary`: one line on what the server talks to and how, for stderr. */
export async function serveStdio(deps: ServerDeps, summary: string): Promise<void> {
  const server = createServer(deps);

  // The protocol layer reports what it cannot handle (malformed lines, unknown message types) here;
  // the SDK would otherwise drop it silently. Capped: the offending line may be huge.
  server.server.onerror = (error) => log.warn(`protocol error (ignored): ${error.message.replace(/\s+/g, " ").slice(0, 300)}`);

  const shutdown = handleShutdown({
    graceMs: deps.config.shutdown.graceSeconds !== undefined ? deps.config.shutdown.graceSeconds * 1000 : SHUTDOWN_GRACE_MS,
    close: async () => {
      // Let the last results reach stdout before the transport closes.
      await new Promise((resolve) => setImmediate(resolve));
      await server.close();
    },
  });
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
