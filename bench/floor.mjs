// The floor of the per-call benchmark: the least a stdio JSON-RPC program can do to answer a
// tools/call by deleting content. No SDK, no validation, no confirmation, no audit: it answers
// `initialize` and `ping`, and for every tools/call sends the same DELETE as the server, with undici
// and the same keep-alive pool settings, to the same API (reference-delete.mjs). Never use it for
// anything but measuring.
//
// Reads VCC_API_BASE_URL and VCC_ACCESS_TOKEN, like the server.
import { createInterface } from "node:readline";
import { deleteContent, exitWhenStdinEnds } from "./reference-delete.mjs";

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return; // notifications
  if (message.method === "initialize") {
    send({
      id: message.id,
      result: { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "floor", version: "1" } },
    });
  } else if (message.method === "ping") {
    send({ id: message.id, result: {} });
  } else if (message.method === "tools/call") {
    const { guid, contentKey } = message.params.arguments;
    deleteContent(guid, contentKey).then(
      (result) => send({ id: message.id, result }),
      (error) => send({ id: message.id, error: { code: -32603, message: String(error) } }),
    );
  } else {
    send({ id: message.id, error: { code: -32601, message: "Method not found" } });
  }
});
exitWhenStdinEnds();
