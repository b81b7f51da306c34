// What the references of the benchmarks (floor.mjs, floor-state.mjs, minimal-sdk.mjs) do for a
// tools/call: the same DELETE as the server, with undici and the same keep-alive pool settings, to
// the same API, and a result that says what the API answered; and the floors' stdio JSON-RPC loop.
// Never use it for anything but measuring.
//
// Reads VCC_API_BASE_URL and VCC_ACCESS_TOKEN, like the server.
import { createInterface } from "node:readline";
import { Pool } from "undici";

const base = new URL(process.env.VCC_API_BASE_URL ?? "");
const basePath = base.pathname.replace(/\/+$/, "");
const authorization = `Bearer ${process.env.VCC_ACCESS_TOKEN ?? ""}`;
const pool = new Pool(base.origin, { connections: 4, keepAliveTimeout: 30_000 });

/** Sends the DELETE; resolves to a tools/call result (status, guid, contentKey, httpStatus). */
export async function deleteContent(guid, contentKey) {
  const res = await pool.request({
    method: "DELETE",
    path: `${basePath}/interactions/${encodeURIComponent(guid)}/content/${encodeURIComponent(contentKey)}`,
    headers: { accept: "application/vnd.newvoicemedia.v3+json", authorization },
  });
  await res.body.text();
  const deleted = res.statusCode === 204;
  return {
    content: [{ type: "text", text: `${deleted ? "Deleted" : "Failed to delete"} ${contentKey} of ${guid} (HTTP ${res.statusCode}).` }],
    structuredContent: { status: deleted ? "deleted" : "error", guid, contentKey, httpStatus: res.statusCode },
    ...(deleted ? {} : { isError: true }),
  };
}

/** Closes the pool and exits: the client closed stdin. */
export function exitWhenStdinEnds() {
  process.stdin.on("end", () => pool.close().finally(() => process.exit(0)));
}

/**
 * The least a stdio JSON-RPC program can do to be called (the floors): answers `initialize` and
 * `ping`, and each tools/call with what `callTool(arguments)` resolves to; exits when stdin ends.
 */
export function serveStdio(name, callTool) {
  const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const message = JSON.parse(line);
    if (message.id === undefined) return; // notifications
    if (message.method === "initialize") {
      send({
        id: message.id,
        result: { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name, version: "1" } },
      });
    } else if (message.method === "ping") {
      send({ id: message.id, result: {} });
    } else if (message.method === "tools/call") {
      callTool(message.params.arguments).then(
        (result) => send({ id: message.id, result }),
        (error) => send({ id: message.id, error: { code: -32603, message: String(error) } }),
      );
    } else {
      send({ id: message.id, error: { code: -32601, message: "Method not found" } });
    }
  });
  exitWhenStdinEnds();
}
