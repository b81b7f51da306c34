// The one place tools are registered (server.ts): read-only filtering, a throwing handler answered
// with internal_error, and (in tests) every result checked against the tool's output schema.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { createServer, lazyApi } from "../../src/server.js";
import { defineTool } from "../../src/tools/define.js";
import { TOOLS } from "../../src/tools/registry.js";
import { textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

/** A tool whose handler returns (or throws) whatever the test needs, unchecked by the compiler. */
const probe = (name: string, handler: () => Promise<unknown>, destructive = false) =>
  defineTool({
    name,
    title: name,
    description: "test tool",
    inputSchema: z.object({}).strict(),
    outputSchema: z.object({ status: z.enum(["ok"]) }),
    annotations: {},
    destructive,
    handler: async () => (await handler()) as CallToolResult,
  });

/**
 * The text of a session's tools/list answer, as the server sent it (the in-memory transport passes the
 * object itself). Lists twice and returns the second answer after changing the first in place, as a
 * client may: answers must not share objects.
 */
async function toolsListText(server: McpServer): Promise<string> {
  const client = new Client({ name: "lister", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  const first = (await client.request({ method: "tools/list" }, z.unknown())) as { tools: { inputSchema: Record<string, unknown> }[] };
  for (const tool of first.tools) tool.inputSchema.changed = true;
  const answer = await client.request({ method: "tools/list" }, z.unknown());
  await client.close();
  return JSON.stringify(answer);
}

/** The SDK's McpServer with the tools registered as server.ts registers them, answering tools/list itself. */
function sdkServer(hidden: readonly string[]): McpServer {
  const server = new McpServer({ name: "sdk", version: "1" });
  for (const tool of TOOLS) {
    const { title, description, inputSchema, outputSchema, annotations } = tool;
    const registered = server.registerTool(tool.name, { title, description, inputSchema, outputSchema, annotations }, async () => ({
      content: [],
    }));
    if (hidden.includes(tool.name)) registered.disable();
  }
  return server;
}

describe("the tool registry", () => {
  it("answers tools/list byte for byte as the SDK would, with the schemas converted once", async () => {
    const config = loadConfig({ VCC_ACCESS_TOKEN: "t" });
    const ours = (caller?: Parameters<typeof createServer>[1]) => createServer({ config, api: lazyApi(config), audit: NO_AUDIT }, caller);
    const expected = await toolsListText(sdkServer([]));
    expect(await toolsListText(ours())).toBe(expected);
    // Again, from the cache.
    expect(await toolsListText(ours())).toBe(expected);
    // A team caller without the delete scope: the destructive tools are disabled, and left out as the SDK leaves them out.
    const destructive = TOOLS.filter((t) => t.destructive || t.changesState).map((t) => t.name);
    const caller = { identity: { subject: "s", issuer: "https://idp.example" }, mayDelete: false };
    expect(await toolsListText(ours(caller))).toBe(await toolsListText(sdkServer(destructive)));
    expect(JSON.parse(await toolsListText(ours(caller))).tools).toHaveLength(TOOLS.length - destructive.length);
  });

  it("offers every tool of TOOLS, and no destructive or state-changing one when read-only", async () => {
    const all = await h.inProcess();
    expect((await all.client.listTools()).tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    const readOnly = await h.inProcess({ env: { VCC_READ_ONLY: "true" } });
    expect((await readOnly.client.listTools()).tools.map((t) => t.name)).toEqual(
      TOOLS.filter((t) => !t.destructive && !t.changesState).map((t) => t.name),
    );
    expect(TOOLS.filter((t) => t.changesState).map((t) => t.name)).toEqual(["cancel_erasure_job"]);
  });

  it("a handler that throws gets internal_error and the truth about a deletion under way", async () => {
    const c = await h.inProcess({
      tools: [
        probe("throws", async () => {
          throw new Error("boom");
        }),
      ],
    });
    const result = await c.call("throws", {});
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Error \(internal_error\): .*may or may not have happened/);
    expect(textOf(result)).not.toContain("boom");
  });

  it("in tests, a result that breaks its output schema fails the call loudly", async () => {
    const c = await h.inProcess({
      tools: [probe("breaks", async () => ({ content: [{ type: "text", text: "x" }], structuredContent: { status: "nope" } }))],
    });
    const result = await c.call("breaks", {});
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(textOf(result)).toMatch(/does not match its output schema/);
  });
});
