import { describe, expect, it } from "vitest";
import {
  contentKeySchema,
  contentPath,
  guidSchema,
  interactionPath,
  isValidContentKey,
  isValidGuid,
  namedKeyOf,
} from "../../src/vcc/ids.js";

describe("GUIDs", () => {
  it("accepts 8-4-4-4-12 hex in any case, RFC version or not", () => {
    for (const g of [
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11",
      "5F1C9A2E-7B3D-4E8A-9C1F-2A6B8D0E4F11",
      "c3d2e1f0-a9b8-0c7d-e6f5-a4b3c2d1e044",
      "00000000-0000-0000-0000-000000000000",
    ])
      expect(isValidGuid(g), g).toBe(true);
  });
  it("rejects everything else", () => {
    for (const g of [
      "",
      "111414121313",
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f1",
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f111",
      "5f1c9a2e7b3d4e8a9c1f2a6b8d0e4f11abcd",
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f1g",
      "{5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f1}",
      " 5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11",
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11\n",
      42,
      null,
    ])
      expect(isValidGuid(g), String(g)).toBe(false);
    expect(guidSchema.safeParse("nope").success).toBe(false);
  });
});

describe("content keys", () => {
  it("accepts 1-36 characters from the API's set", () => {
    for (const k of [
      "callRecording",
      "callrecording",
      "voicemail-123",
      "a",
      "a".repeat(36),
      "!-_.,*'()",
      "...",
      ".a",
      "4c1b8e2f-6a3d-4f9b-9e7c-2d5a8f1b3c77",
    ])
      expect(isValidContentKey(k), k).toBe(true);
  });
  it("rejects dot segments, other characters and wrong lengths", () => {
    for (const k of [".", "..", "", "a".repeat(37), "a/b", "%2e%2e", "a b", "a\\b", "ä", "a?b", "a#b", "a;b", "a\u0000"])
      expect(isValidContentKey(k), JSON.stringify(k)).toBe(false);
    expect(contentKeySchema.safeParse("..").success).toBe(false);
  });
  it("knows the named keys case-insensitively", () => {
    expect(namedKeyOf("CALLRECORDING")).toBe("callRecording");
    expect(namedKeyOf("voicemail-123")).toBeUndefined();
  });
});

describe("paths", () => {
  const guid = "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11";
  it("percent-encodes every segment beyond RFC 3986 unreserved characters", () => {
    expect(contentPath(guid, "callRecording")).toBe(`/interactions/${guid}/content/callRecording`);
    expect(contentPath(guid, "a!'()*,")).toBe(`/interactions/${guid}/content/a%21%27%28%29%2A%2C`);
    expect(interactionPath(guid)).toBe(`/interactions/${guid}`);
  });
  it("refuses to build a path from invalid ids", () => {
    expect(() => contentPath(guid, "..")).toThrow();
    expect(() => contentPath(guid, ".")).toThrow();
    expect(() => contentPath("x", "callRecording")).toThrow();
  });
});
