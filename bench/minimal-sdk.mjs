// The SDK reference of the per-call benchmark: the least an MCP server built on the official SDK does
// to answer a tools/call by deleting content. One `registerTool` with the same zod input schema as
// delete_interaction_content and a small output schema, whose handler sends one DELETE with undici
// (same keep-alive pool settings as the server: reference-delete.mjs) and returns what the API said.
// No confirmation, no audit, no retries, no lookups. What the server costs above this is what it adds
// to the SDK's own cost (see docs/benchmarks.md). Never use it for anything but measuring.
//
// Reads VCC_API_BASE_URL and VCC_ACCESS_TOKEN, like the server.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import { deleteInteractionContent } from "../dist/tools/delete-interaction-content.js";
import { deleteContent, exitWhenStdinEnds } from "./reference-delete.mjs";

const server = new McpServer({ name: "minimal-sdk", version: "1" });
server.registerTool(
  deleteInteractionContent.name,
  {
    description: "Deletes one content file (benchmark reference).",
    // The server's own input schema object: the SDK validates the same thing in both.
    inputSchema: deleteInteractionContent.inputSchema,
    outputSchema: z.object({
      status: z.enum(["deleted", "error"]),
      guid: z.string(),
      contentKey: z.string(),
      httpStatus: z.number().int(),
    }),
  },
  ({ guid, contentKey }) => deleteContent(guid, contentKey),
);
await server.connect(new StdioServerTransport());
exitWhenStdinEnds();
