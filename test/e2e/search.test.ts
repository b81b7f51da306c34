// search_interactions in the built server over stdio: the audit log file, privacy of stderr, and the
// sandbox's repeat caller.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SEARCH_SAMPLE } from "../../src/simulator/server.js";
import { connect, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();
const dir = mkdtempSync(join(tmpdir(), "vcc-search-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("search_interactions (spawned server)", () => {
  it("writes one audit record per search; the number never reaches stderr", async () => {
    const auditLog = join(dir, "audit.jsonl");
    const c = await h.connect({ env: { VCC_AUDIT_LOG: auditLog } });
    await c.client.listTools();
    const args = { from: "2026-05-01", to: "2026-07-31", party: [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational] };
    const result = await c.call("search_interactions", args);
    const s = structured(result);
    expect(s.complete).toBe(true);
    expect(s.interactions.length).toBeGreaterThan(10);
    expect(textOf(result)).toContain(SEARCH_SAMPLE.callerA);
    const lines = readFileSync(auditLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: "search",
      outcome: "complete",
      criteria: { party: args.party, from: "2026-05-01T00:00:00.000Z", to: "2026-08-01T00:00:00.000Z" },
      interactions: s.interactions.length,
      requests: s.requests,
      time: expect.any(String),
    });
    for (const address of [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational, "1632960101"]) expect(c.stderr()).not.toContain(address);
  });

  it("the sandbox names the repeat caller, and searching for it finds its calls", async () => {
    const c = await connect({ args: ["--sandbox"] });
    try {
      const instructions = c.client.getInstructions() ?? "";
      expect(instructions).toContain(SEARCH_SAMPLE.callerA);
      expect(instructions).toContain(SEARCH_SAMPLE.callerANational);
      await c.client.listTools();
      const s = structured(await c.call("search_interactions", { from: "2026-05-01", to: "2026-11-30", party: [SEARCH_SAMPLE.callerA] }));
      expect(s).toMatchObject({ sandbox: true, complete: true });
      expect(s.interactions.length).toBeGreaterThan(20);
      expect(new Set(s.interactions.map((i: { direction: string }) => i.direction))).toEqual(new Set(["inbound", "outbound"]));
      expect(c.stderr()).not.toContain(SEARCH_SAMPLE.callerA);
    } finally {
      await c.close();
    }
  });
});
