// The one place tools are registered (server.ts): read-only filtering, a throwing handler answered
// with internal_error, and (in tests) every result checked against the tool's output schema.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
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

describe("the tool registry", () => {
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
