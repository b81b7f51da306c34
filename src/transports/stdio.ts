// MCP over stdio: one client, one session, for the life of the process.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { log } from "../log.js";
import { createServer, type ServerDeps } from "../server.js";

/** `summary`: one line on what the server talks to and how, for stderr. */
export async function serveStdio(deps: ServerDeps, summary: string): Promise<void> {
  const server = createServer(deps);

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

  await server.connect(new StdioServerTransport());
  log.info(`ready on stdio: ${summary}`);
}
