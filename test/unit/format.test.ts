import { describe, expect, it } from "vitest";
import { describePreview, describeTypeCounts, formatBytes, formatDate, humanType } from "../../src/core/format.js";
import { findContentItem, parseInteraction } from "../../src/vcc/interaction.js";

describe("formatting", () => {
  it("sizes, dates and types read naturally", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(2_457_644)).toBe("2.5 MB");
    expect(formatBytes(24_876_512)).toBe("24.9 MB");
    expect(formatBytes(412_876)).toBe("413 kB");
    expect(formatDate("2026-11-23T09:21:40.000Z")).toBe("2026-11-23 09:21 UTC");
    expect(formatDate("yesterday")).toBe("yesterday");
    expect(humanType("callRecording")).toBe("call recording");
    expect(humanType("aiConversationSummary")).toBe("AI conversation summary");
    expect(humanType("ivrAudioRecording")).toBe("IVR audio recording");
    expect(describePreview({ type: "voicemail" })).toBe("voicemail (content type unknown, size unknown, last modified unknown)");
    expect(describePreview({})).toBe("item of unknown type (content type unknown, size unknown, last modified unknown)");
  });

  it("counts by type: the API's type names, largest first, an item without a type said as such", () => {
    const counts = Object.fromEntries([
      ["transcript", 2],
      ["unknown", 1],
      ["__proto__", 3],
    ]);
    expect(describeTypeCounts(counts)).toBe(
      "3 item(s) of type __proto__, 2 item(s) of type transcript, 1 item(s) whose type the API did not give",
    );
    expect(describeTypeCounts({})).toBe("");
  });
});

describe("interaction records", () => {
  it("are read leniently and searched case-insensitively", () => {
    const i = parseInteraction(
      JSON.stringify({ guid: "g", extra: 1, content: [{ contentKey: "callRecording", type: "callRecording", owningAgent: { id: 7 } }] }),
    );
    expect(i?.content[0]).toEqual({ contentKey: "callRecording", type: "callRecording", owningAgentId: "7" });
    expect(i && findContentItem(i, "CALLRECORDING")?.contentKey).toBe("callRecording");
    // Two keys that differ only in case: the one written exactly so.
    const two = parseInteraction(
      JSON.stringify({ guid: "g", content: [{ contentKey: "abc-DEF" }, { contentKey: "ABC-def", type: "attachment" }] }),
    );
    expect(two && findContentItem(two, "ABC-def")).toEqual({ contentKey: "ABC-def", type: "attachment" });
    expect(two && findContentItem(two, "abc-DEF")).toEqual({ contentKey: "abc-DEF" });
    expect(parseInteraction("<html>")).toBeUndefined();
    expect(parseInteraction('{"nope":true}')).toBeUndefined();
  });
});
