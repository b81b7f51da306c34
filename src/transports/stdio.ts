// MCP over stdio: one client, one session, for the life of the process.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Config } from "../config.js";
import { log } from "../log.js";
import { createServer, lazyApi } from "../server.js";

export async function serveStdio(config: Config): Promise<void> {
  const server = createServer({ config, api: lazyApi(config) });

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
  log.info(
    `ready on stdio: API ${config.apiBaseUrl}, confirmation ${config.confirmation}${config.accessToken ? "" : " (no credentials configured yet: tool calls will say what to set)"}`,
  );
}
